package dev.agentconfig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import dev.agentconfig.testing.UserJwts;
import org.junit.jupiter.api.Test;

/**
 * Request rate limits through the real HTTP server: a user JWT over its limit gets 429 problem+json
 * with Retry-After and nothing it sent is stored, while another user (same address) goes on; the
 * per-address limit keys on the TCP peer, so a caller cannot escape it with X-Forwarded-For.
 */
class HttpRateLimitTest extends ServiceTestSupport {
    private static final String SECRET = "rate-limit-test-secret-0123456789abcdef-0123456789";
    private static final int PER_USER = 3;
    private static final int PER_ADDRESS = 40;

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.auth.jwt-secret", SECRET);
        // an hour's window: no token comes back during the test
        p.setProperty("agentconfig.http.rate.window", "1h");
        p.setProperty("agentconfig.http.rate.per-user", String.valueOf(PER_USER));
        p.setProperty("agentconfig.http.rate.per-address", String.valueOf(PER_ADDRESS));
        return p;
    }

    private HttpResponse<String> putAs(String tenant, UUID user, String callAgentId) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + UserJwts.user(SECRET, tenant, user).sign())
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"" + callAgentId + "\"}")));
    }

    private static void assertTooMany(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(r.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        long retryAfter = Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow());
        assertThat(retryAfter).isPositive();
        JsonNode body = json(r);
        assertThat(body.path("status").asInt()).isEqualTo(429);
        assertThat(body.path("type").asText()).endsWith("/too-many-requests");
        assertThat(body.path("retryAfter").asLong()).isEqualTo(retryAfter);
    }

    @Test
    void aUserOverItsLimitGets429WithRetryAfterAndAnotherUserDoesNot() {
        UUID first = UUID.randomUUID();
        UUID second = UUID.randomUUID();
        for (int i = 0; i < PER_USER; i++) {
            HttpResponse<String> ok = putAs("acme", first, "agent_" + i);
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        }
        HttpResponse<String> over = putAs("acme", first, "agent_over");
        assertTooMany(over);
        // the refused save changed nothing: the last accepted value is the one stored
        assertThat(String.valueOf(profileRow(first).orElseThrow().get("encrypted_agent_config"))).contains("agent_" + (PER_USER - 1))
                .doesNotContain("agent_over");

        // the same address, another user: its own bucket
        HttpResponse<String> other = putAs("acme", second, "agent_second");
        assertThat(other.statusCode()).as(other.body()).isEqualTo(200);
        // the service token is not the user's bucket either
        assertThat(put("acme", first, "{\"callAgentId\":\"agent_service\"}").statusCode()).isEqualTo(200);
    }

    /** GET /nope from a local address of its own (127.0.0.x), claiming another address in X-Forwarded-For. */
    private String getFrom(String localAddress, String forwardedFor) throws IOException {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(localAddress, 0));
            s.connect(new InetSocketAddress("127.0.0.1", httpPort), 5000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET /nope HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " + forwardedFor
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void thePerAddressLimitKeysOnThePeerAndIgnoresXForwardedFor() throws IOException {
        int refusedAt = -1;
        String refused = null;
        for (int i = 0; i < PER_ADDRESS + 5 && refused == null; i++) {
            // a different claimed address every time, no credentials: only the address limit applies
            String answer = getFrom("127.0.0.2", "203.0.113." + i);
            if (answer.startsWith("HTTP/1.1 429")) {
                refused = answer;
                refusedAt = i;
            } else {
                assertThat(answer).startsWith("HTTP/1.1 404");
            }
        }
        assertThat(refused).as("no 429 within %d requests from one address", PER_ADDRESS + 5).isNotNull();
        assertThat(refusedAt).isEqualTo(PER_ADDRESS);
        assertThat(refused).containsIgnoringCase("Content-Type: application/problem+json").containsIgnoringCase("Retry-After: ")
                .contains("\"status\":429");
        // another address has its own bucket
        assertThat(getFrom("127.0.0.3", "203.0.113.1")).startsWith("HTTP/1.1 404");
    }
}
