package dev.agentconfig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input of every kind over the real HTTP server: each answer is a clear problem+json with
 * the right status, and nothing is written anywhere (tables, local store).
 */
class SaveValidationTest extends ServiceTestSupport {
    private static final UUID USER = UUID.fromString("7d3c5a4e-1b2f-4c6d-8e9f-0a1b2c3d4e5f");
    private static final String TENANT = "acme";

    static Stream<Arguments> badBodies() {
        String longId = "a".repeat(129);
        return Stream.of(
                Arguments.of("empty body", "", "empty"),
                Arguments.of("malformed JSON", "{\"callAgentId\": ", "not valid JSON"),
                Arguments.of("not an object", "[\"callAgentId\"]", "JSON object"),
                Arguments.of("a bare string", "\"callAgentId\"", "JSON object"),
                Arguments.of("trailing data", "{\"callAgentId\":\"a\"} {}", "not valid JSON"),
                Arguments.of("duplicate keys", "{\"callAgentId\":\"a\",\"callAgentId\":\"b\"}", "not valid JSON"),
                Arguments.of("unknown field (typo)", "{\"callAgentID\":\"a\"}", "unknown field"),
                Arguments.of("unknown plus known", "{\"callAgentId\":\"a\",\"extra\":1}", "unknown field"),
                Arguments.of("no field", "{}", "no field"),
                Arguments.of("number instead of string", "{\"callAgentId\":42}", "callAgentId must be a string"),
                Arguments.of("object instead of string", "{\"smsAgentId\":{\"x\":1}}", "smsAgentId must be a string"),
                Arguments.of("boolean", "{\"smsAgentId\":true}", "smsAgentId must be a string"),
                Arguments.of("agent id too long", "{\"callAgentId\":\"" + longId + "\"}", "callAgentId must be 1 to 128"),
                Arguments.of("agent id empty", "{\"callAgentId\":\"\"}", "callAgentId must be 1 to 128"),
                Arguments.of("agent id with space", "{\"callAgentId\":\"agent 1\"}", "callAgentId must be"),
                Arguments.of("agent id injection", "{\"callAgentId\":\"x'; DROP TABLE user_profiles;--\"}", "callAgentId must be"),
                Arguments.of("agent id unicode lookalike", "{\"smsAgentId\":\"agent\\u2010one\"}", "smsAgentId must be"),
                Arguments.of("agent id traversal", "{\"smsAgentId\":\"../../etc/passwd\"}", "smsAgentId must be"),
                Arguments.of("key too short", "{\"retellApiKey\":\"key_1\"}", "retellApiKey must be 8 to 256"),
                Arguments.of("key too long", "{\"retellApiKey\":\"" + "k".repeat(257) + "\"}", "retellApiKey must be 8 to 256"),
                Arguments.of("key with whitespace", "{\"retellApiKey\":\"key_TESTSECRET_ with space\"}", "retellApiKey must be"),
                Arguments.of("key with non-ASCII", "{\"retellApiKey\":\"key_TESTSECRET_\\u00e9\\u00e9\\u00e9\"}", "retellApiKey must be"),
                Arguments.of("key with control character", "{\"retellApiKey\":\"key_TESTSECRET_\\u0000abc\"}", "retellApiKey must be"),
                Arguments.of("deep nesting", "{\"callAgentId\":" + "[".repeat(200) + "]".repeat(200) + "}", "not valid JSON"));
    }

    @AfterEach
    void nothingWasWritten() throws Exception {
        assertThat(profileRow(USER)).isEmpty();
        assertThat(settingsRow(USER)).isEmpty();
        Path store = dataDir.resolve("local-store");
        if (Files.exists(store)) {
            try (Stream<Path> files = Files.walk(store)) {
                assertThat(files.filter(Files::isRegularFile).toList()).isEmpty();
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badBodies")
    void aBadBodyIsA400ProblemAndNothingIsWritten(String name, String body, String detailPart) {
        HttpResponse<String> r = put(TENANT, USER, body);

        assertProblem(r, 400);
        assertThat(json(r).get("detail").asText()).contains(detailPart);
        // the detail never echoes what was sent (it could be a secret)
        assertThat(json(r).get("detail").asText()).doesNotContain("TESTSECRET").doesNotContain("DROP TABLE");
    }

    @Test
    void aFieldErrorNamesTheFieldAndItsRule() {
        HttpResponse<String> r = put(TENANT, USER, "{\"callAgentId\":\"ok_id\",\"smsAgentId\":\"not ok\"}");
        assertProblem(r, 400);
        JsonNode errors = json(r).get("errors");
        assertThat(errors).hasSize(1);
        assertThat(errors.get(0).get("field").asText()).isEqualTo("smsAgentId");
    }

    static Stream<Arguments> badIds() {
        return Stream.of(
                Arguments.of("-leading-dash", USER.toString()),
                Arguments.of("a".repeat(65), USER.toString()),
                Arguments.of("acme%20corp", USER.toString()),
                Arguments.of("acme%2F..%2F..%2Fetc", USER.toString()),
                Arguments.of("acme'%3B--", USER.toString()),
                Arguments.of("%E2%80%AEacme", USER.toString()),
                Arguments.of("acme.", USER.toString()),
                Arguments.of(TENANT, "not-a-uuid"),
                Arguments.of(TENANT, "7d3c5a4e1b2f4c6d8e9f0a1b2c3d4e5f"),
                Arguments.of(TENANT, "7d3c5a4e-1b2f-4c6d-8e9f-0a1b2c3d4e5f%00"),
                Arguments.of(TENANT, "..%2F..%2Fsecrets%2Fservice-token"),
                Arguments.of(TENANT, "1-1-1-1-1"));
    }

    @ParameterizedTest(name = "tenant={0} user={1}")
    @MethodSource("badIds")
    void badIdentifiersAreRefused(String tenant, String user) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + serviceToken)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"a\"}")));
        assertThat(r.statusCode()).as(r.body()).isIn(400, 404);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(query("SELECT count(*) AS n FROM public.user_profiles").get(0).get("n")).isEqualTo(0L);
    }

    @Test
    void traversalInThePathNeverReachesTheFileSystem() throws java.io.IOException {
        // the data dir holds generated secrets (the embedded database's password among them): the
        // request must leave every one of them, and the rest of the tree outside pg/, as it was
        java.util.List<String> before = filesOutsideTheCluster();
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl()
                        + "/api/v1/agent-config/..%2F..%2Fsecrets/" + USER))
                .header("Authorization", "Bearer " + serviceToken)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"a\"}")));
        assertThat(r.statusCode()).isIn(400, 404);
        assertThat(filesOutsideTheCluster()).isEqualTo(before);
        assertThat(dataDir.resolve("local-store").resolve("..")).isDirectory();
    }

    private java.util.List<String> filesOutsideTheCluster() throws java.io.IOException {
        try (var walk = java.nio.file.Files.walk(dataDir)) {
            return walk.map(p -> dataDir.relativize(p).toString())
                    .filter(p -> !p.startsWith("pg")).sorted().toList();
        }
    }

    @Test
    void anOversizeBodyIs413() {
        String body = "{\"callAgentId\":\"" + "a".repeat(17_000) + "\"}";
        assertProblem(put(TENANT, USER, body), 413);
    }

    @Test
    void anOversizeChunkedBodyIs413() {
        byte[] body = ("{\"callAgentId\":\"" + "a".repeat(40_000) + "\"}").getBytes();
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + TENANT + "/" + USER))
                .header("Authorization", "Bearer " + serviceToken)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body))));
        assertProblem(r, 413);
    }

    @Test
    void aWrongContentTypeIs415() {
        for (String type : List.of("text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1",
                "application/jsonx")) {
            HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + TENANT + "/" + USER))
                    .header("Authorization", "Bearer " + serviceToken)
                    .header("Content-Type", type)
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"a\"}")));
            assertProblem(r, 415);
        }
        HttpResponse<String> none = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + TENANT + "/" + USER))
                .header("Authorization", "Bearer " + serviceToken)
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"a\"}")));
        assertProblem(none, 415);
    }

    @Test
    void missingOrWrongCredentialsAre401() {
        for (String auth : new String[] {null, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer wrong-token", "bearer " + serviceToken + "x"}) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + TENANT + "/" + USER))
                    .header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"a\"}"));
            if (auth != null) {
                b.header("Authorization", auth);
            }
            HttpResponse<String> r = send(b);
            assertProblem(r, 401);
            assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
        }
        assertThat(logs.text()).doesNotContain(serviceToken + "x").doesNotContain("wrong-token");
    }

    @Test
    void unknownPathsAndMethodsAreProblemsToo() {
        assertProblem(send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v2/whatever")).GET()), 404);
        assertProblem(send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + TENANT + "/" + USER))
                .header("Authorization", "Bearer " + serviceToken)
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{}"))), 405);
    }

    @Test
    void theCallersRequestIdIsEchoed() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + TENANT + "/" + USER))
                .header("Authorization", "Bearer " + serviceToken)
                .header("Content-Type", "application/json")
                .header("X-Request-Id", "req-12345")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"bogus\":1}")));
        assertThat(r.headers().firstValue("X-Request-Id")).hasValue("req-12345");
        assertThat(json(r).get("requestId").asText()).isEqualTo("req-12345");
    }

    private static void assertProblem(HttpResponse<String> r, int status) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        JsonNode p = json(r);
        assertThat(p.get("status").asInt()).isEqualTo(status);
        assertThat(p.get("title").asText()).isNotBlank();
        assertThat(p.get("detail").asText()).isNotBlank();
        assertThat(r.body()).doesNotContain("Exception").doesNotContain("\tat ");
    }
}
