package dev.agentconfig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * What the HTTP server refuses before any route costs nothing: a problem+json answer, one log
 * line without the query string or control characters (no stack trace, no ERROR); a client that
 * goes away mid-request is a DEBUG line; every answer says nosniff; a body that is not UTF-8 is
 * refused and nothing is stored.
 */
class HttpRefusalsTest extends ServiceTestSupport {
    private static final String USER = "0b6f9c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b";

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        // every refusal gets its own line here (the once-per-interval rule is RefusalLogTest's)
        p.setProperty("agentconfig.log.summary-interval", "1ms");
        return p;
    }

    /** A raw HTTP/1.1 exchange: what the server answers (status line, headers, body) before it closes or 10 s pass. */
    private String raw(byte[] request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", httpPort)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(request);
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder sb = new StringBuilder();
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = in.read(buf)) > 0) {
                    sb.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                    int head = sb.indexOf("\r\n\r\n");
                    if (head > 0) {
                        String cl = header(sb.substring(0, head), "content-length");
                        if (cl != null && sb.length() >= head + 4 + Integer.parseInt(cl.trim())) {
                            break;
                        }
                    }
                }
            } catch (java.net.SocketTimeoutException e) {
                // answered what it answers
            }
            return sb.toString();
        }
    }

    private static String header(String head, String name) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    private record Raw(int status, String head, JsonNode body) {
    }

    private Raw rawProblem(String request) throws IOException {
        String answer = raw(request.getBytes(StandardCharsets.ISO_8859_1));
        assertThat(answer).as("the server answered: [%s]", answer).startsWith("HTTP/1.");
        int head = answer.indexOf("\r\n\r\n");
        String h = answer.substring(0, head);
        return new Raw(Integer.parseInt(answer.substring(9, 12)), h, json(answer.substring(head + 4)));
    }

    private List<String> linesSince(int from) {
        List<String> all = logs.lines();
        return all.subList(Math.min(from, all.size()), all.size());
    }

    /** The refusal is logged: one line, without the query string and with no control character; nothing else at WARN or ERROR. */
    private void assertOneCleanLine(int from, int status, String mustNotContain) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> linesSince(from).stream()
                .anyMatch(l -> l.contains("RefusalLog") && l.contains("Refused a request before any route: " + status)));
        List<String> refusals = linesSince(from).stream().filter(l -> l.contains("RefusalLog")).toList();
        assertThat(refusals).hasSize(1);
        String line = refusals.get(0);
        assertThat(line).doesNotContain("\n").doesNotContain("\r").doesNotContain("\u001b").doesNotContain(mustNotContain);
        assertThat(line.chars().allMatch(c -> c >= 0x20 && c < 0x7f)).as(line).isTrue();
        assertThat(linesSince(from)).noneMatch(l -> l.startsWith("ERROR") || l.startsWith("WARN"));
    }

    private static void assertProblem(int status, String contentType, String nosniff) {
        assertThat(contentType).isEqualTo("application/problem+json");
        assertThat(nosniff).isEqualTo("nosniff");
    }

    @Test
    void aQueryStringThatCannotBeDecodedIsA400ProblemAndOneLineWithoutTheQuery() throws IOException {
        int from = logs.lines().size();
        // the key in the query string must reach no log (the harness greps every line for the test prefix)
        Raw r = rawProblem("GET /api/v1/agent-config/a/b?apiKey=" + KEY_PREFIX + "zz&x=%zz%1b[31m HTTP/1.1\r\nHost: x\r\n"
                + "Connection: close\r\n\r\n");
        assertThat(r.status()).isEqualTo(400);
        assertProblem(400, header(r.head(), "Content-Type"), header(r.head(), "X-Content-Type-Options"));
        assertThat(r.body().path("status").asInt()).isEqualTo(400);
        assertOneCleanLine(from, 400, "apiKey");
    }

    @Test
    void aRequestLineTooLongIsA414Problem() throws IOException {
        int from = logs.lines().size();
        Raw r = rawProblem("GET /api/v1/" + "a".repeat(5000) + "?secret=" + KEY_PREFIX + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(r.status()).isEqualTo(414);
        assertProblem(414, header(r.head(), "Content-Type"), header(r.head(), "X-Content-Type-Options"));
        assertThat(r.body().path("type").asText()).endsWith("/uri-too-long");
        assertOneCleanLine(from, 414, "secret");
    }

    @Test
    void headersTooLargeAreA431Problem() throws IOException {
        int from = logs.lines().size();
        Raw r = rawProblem("GET /api/v1/agent-config/a/b?q=1 HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(9000) + "\r\n\r\n");
        assertThat(r.status()).isEqualTo(431);
        assertProblem(431, header(r.head(), "Content-Type"), header(r.head(), "X-Content-Type-Options"));
        assertThat(r.body().path("type").asText()).endsWith("/headers-too-large");
        assertOneCleanLine(from, 431, "q=1");
    }

    @Test
    void controlCharactersInThePathNeverReachTheLog() throws IOException {
        int from = logs.lines().size();
        Raw r = rawProblem("GET /nope\u001b[2J\u0007/x?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(r.status()).isBetween(400, 404);
        assertProblem(r.status(), header(r.head(), "Content-Type"), header(r.head(), "X-Content-Type-Options"));
        assertOneCleanLine(from, r.status(), "q=1");
    }

    @Test
    void unknownPathWrongMethodAndOversizeBodyAreProblemsLoggedOnceEach() {
        int from = logs.lines().size();
        HttpResponse<String> unknown = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/nope?token=abc")).GET());
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertProblem(404, unknown.headers().firstValue("Content-Type").orElse(null),
                unknown.headers().firstValue("X-Content-Type-Options").orElse(null));
        assertOneCleanLine(from, 404, "token");

        from = logs.lines().size();
        HttpResponse<String> method = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/acme/" + USER + "?m=1"))
                .header("Authorization", "Bearer " + serviceToken).method("PATCH", HttpRequest.BodyPublishers.ofString("{}")));
        assertThat(method.statusCode()).isEqualTo(405);
        assertProblem(405, method.headers().firstValue("Content-Type").orElse(null),
                method.headers().firstValue("X-Content-Type-Options").orElse(null));
        assertOneCleanLine(from, 405, "m=1");

        from = logs.lines().size();
        HttpResponse<String> large = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/acme/" + USER + "?l=1"))
                .header("Authorization", "Bearer " + serviceToken).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"" + "x".repeat(40_000) + "\"}")));
        assertThat(large.statusCode()).isEqualTo(413);
        assertProblem(413, large.headers().firstValue("Content-Type").orElse(null),
                large.headers().firstValue("X-Content-Type-Options").orElse(null));
        assertOneCleanLine(from, 413, "l=1");
    }

    @Test
    void aClientThatGoesAwayMidRequestIsDebugNotError() throws Exception {
        Configurator.setLevel(HttpErrorPages.class.getName(), Level.DEBUG);
        try {
            int from = logs.lines().size();
            try (Socket s = new Socket("127.0.0.1", httpPort)) {
                OutputStream out = s.getOutputStream();
                out.write(("PUT /api/v1/agent-config/acme/" + USER + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + serviceToken
                        + "\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"callAgentId\":\"half")
                        .getBytes(StandardCharsets.UTF_8));
                out.flush();
                // the server has the headers and part of the body, and waits for the rest
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server().openConnections() >= 1);
                Thread.sleep(200);
            }
            // the fault happened: the service saw the client go away ...
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> linesSince(from).stream()
                    .anyMatch(l -> l.startsWith("DEBUG") && l.contains("The client went away mid-request")));
            // ... and said so at DEBUG only, without a stack trace
            assertThat(linesSince(from)).noneMatch(l -> l.startsWith("ERROR") || l.startsWith("WARN"));
            assertThat(profileRow(UUID.fromString(USER))).isEmpty();
        } finally {
            Configurator.setLevel(HttpErrorPages.class.getName(), Level.INFO);
        }
    }

    private FrontDoorServer server() {
        return context.getRegistry().lookupByNameAndType("frontDoorServer", FrontDoorServer.class);
    }

    @Test
    void everyKindOfAnswerSaysNosniff() {
        UUID user = UUID.randomUUID();
        HttpResponse<String> saved = put("acme", user, "{\"callAgentId\":\"agent_nosniff\"}");
        HttpResponse<String> read = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/acme/" + user))
                .header("Authorization", "Bearer " + serviceToken).GET());
        HttpResponse<String> refused = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/acme/" + user)).GET());
        HttpResponse<String> script = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/client/agent-config.js")).GET());
        HttpResponse<String> page = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/diagnostics")).GET());
        HttpResponse<String> unknown = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/nope")).GET());
        assertThat(List.of(saved.statusCode(), read.statusCode(), refused.statusCode(), script.statusCode(), page.statusCode(),
                unknown.statusCode())).containsExactly(200, 200, 401, 200, 200, 404);
        assertThat(read.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(refused.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(script.headers().firstValue("Content-Type").orElse("")).contains("javascript");
        assertThat(page.headers().firstValue("Content-Type").orElse("")).contains("text/html");
        for (HttpResponse<String> r : List.of(saved, read, refused, script, page, unknown)) {
            assertThat(r.headers().allValues("X-Content-Type-Options")).as(r.uri().getPath()).containsExactly("nosniff");
        }
    }

    @Test
    void aBodyThatIsNotUtf8IsRefusedAndNothingIsStored() {
        UUID user = UUID.randomUUID();
        String json = "{\"callAgentId\":\"agent_utf16\"}";
        byte[] utf16WithBom = json.getBytes(StandardCharsets.UTF_16); // big-endian with a byte order mark
        byte[] utf16le = json.getBytes(StandardCharsets.UTF_16LE);    // no byte order mark
        byte[] latin1 = "{\"callAgentId\":\"agent_\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1);
        for (byte[] body : List.of(utf16WithBom, utf16le, latin1)) {
            HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/acme/" + user))
                    .header("Authorization", "Bearer " + serviceToken).header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(body)));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
            assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            assertThat(json(r).path("detail").asText()).contains("UTF-8");
        }
        HttpResponse<String> declared = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/acme/" + user))
                .header("Authorization", "Bearer " + serviceToken).header("Content-Type", "application/json; charset=utf-16")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(utf16WithBom)));
        assertThat(declared.statusCode()).isEqualTo(415);
        assertThat(declared.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(profileRow(user)).isEmpty();
        assertThat(settingsRow(user)).isEmpty();
        assertThat(localEntry("acme", user)).isEmpty();
    }
}
