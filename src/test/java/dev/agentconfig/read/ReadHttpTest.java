package dev.agentconfig.read;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.api.HttpGuard;
import dev.agentconfig.api.Problem;
import dev.agentconfig.crypto.FieldCipher;
import org.apache.camel.Exchange;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** GET over HTTP: the merged view, tenant isolation, 400/401/404, and who may reveal the key. */
class ReadHttpTest extends ReadTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(ReadHttpTest.class);

    @Test
    void theMergedViewOverHttpShowsTheKeyMaskedOnly() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        assertThat(put(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"call_1\",\"smsAgentId\":\"sms_1\"}")
                .statusCode()).isEqualTo(200);

        HttpResponse<String> r = getConfig(tenant, user);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(r.headers().firstValue("Cache-Control")).hasValue("no-store");
        assertThat(r.headers().firstValue("X-Request-Id")).isPresent();
        JsonNode view = json(r);
        assertThat(view.get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(key));
        assertThat(view.get("callAgentId").asText()).isEqualTo("call_1");
        assertThat(view.get("fields").get("smsAgentId").get("source").asText()).isEqualTo("user_profiles");
        assertThat(view.get("sync").get("state").asText()).isEqualTo("synced");
        assertThat(view.has("revealed")).isFalse();
        assertThat(r.body()).doesNotContain(key);
        // no internal header leaks out
        assertThat(r.headers().map().keySet()).noneMatch(h -> h.toLowerCase().startsWith("camel")
                || h.equalsIgnoreCase("tenantId") || h.equalsIgnoreCase("userId"));
    }

    @Test
    void aReadUnderAnotherTenantFindsNothing() {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"callAgentId\":\"call_mine\"}").statusCode()).isEqualTo(200);
        stopDatabase();
        try {
            // and a save pending locally under the right tenant is invisible under another
            assertThat(put(tenant, user, "{\"smsAgentId\":\"sms_mine\"}").statusCode()).isEqualTo(202);
        } finally {
            startDatabase();
        }
        resetBreakers();

        HttpResponse<String> wrong = getConfig(newTenant(), user);

        assertThat(wrong.statusCode()).as(wrong.body()).isEqualTo(404);
        assertThat(wrong.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(wrong.body()).doesNotContain("call_mine").doesNotContain("sms_mine");
        assertThat(getConfig(tenant, user).statusCode()).isEqualTo(200);
        assertThat(json(getConfig(tenant, user)).get("smsAgentId").asText()).isEqualTo("sms_mine");

        HttpResponse<String> reveal = get("/api/v1/agent-config/" + newTenant() + "/" + user + "?reveal=true", serviceToken);
        assertThat(reveal.statusCode()).isEqualTo(404);

        HttpResponse<String> unknown = getConfig(tenant, newUser());
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown).get("type").asText()).endsWith("/not-found");
    }

    @Test
    void badIdentifiersAre400AndMissingOrWrongTokensAre401() {
        HttpResponse<String> badTenant = get("/api/v1/agent-config/-bad/" + newUser(), serviceToken);
        assertThat(badTenant.statusCode()).isEqualTo(400);
        assertThat(badTenant.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(json(badTenant).get("detail").asText()).contains("tenantId");

        HttpResponse<String> badUser = get("/api/v1/agent-config/acme/not-a-uuid", serviceToken);
        assertThat(badUser.statusCode()).isEqualTo(400);
        assertThat(json(badUser).get("detail").asText()).contains("userId");

        for (String token : new String[] {null, "wrong-token"}) {
            for (String suffix : new String[] {"", "?reveal=true", "/diagnostics"}) {
                HttpResponse<String> r = get("/api/v1/agent-config/acme/" + newUser() + suffix, token);
                assertThat(r.statusCode()).as(suffix).isEqualTo(401);
                assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
                assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
            }
        }
        HttpResponse<String> badReveal = get("/api/v1/agent-config/acme/" + newUser() + "?reveal=yes", serviceToken);
        assertThat(badReveal.statusCode()).isEqualTo(400);
        assertThat(json(badReveal).get("detail").asText()).contains("reveal");
    }

    @Test
    void theServiceTokenRevealsTheKeyAndEveryRevealIsAudited() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        assertThat(put(tenant, user, "{\"retellApiKey\":\"" + key + "\"}").statusCode()).isEqualTo(200);

        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant
                        + "/" + user + "?reveal=true"))
                .header("Authorization", "Bearer " + serviceToken)
                .header("X-Request-Id", "reveal-test-1")
                .GET());

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Cache-Control")).hasValue("no-store");
        JsonNode view = json(r);
        assertThat(view.get("retellApiKey").asText()).isEqualTo(key);
        assertThat(view.get("revealed").asBoolean()).isTrue();
        List<Map<String, Object>> rows = awaitAudit(tenant, user, 1);
        Map<String, Object> row = rows.get(0);
        assertThat(row.get("success")).isEqualTo(true);
        assertThat((String) row.get("details")).contains("\"reveal-test-1\"", "\"user_profiles\"", "\"service\"")
                .doesNotContain(key);

        // reveal=false and no reveal: masked, no audit row
        assertThat(json(get("/api/v1/agent-config/" + tenant + "/" + user + "?reveal=false", serviceToken))
                .get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(key));
        assertThat(getConfig(tenant, user).body()).doesNotContain(key);
        // the plaintext reached the caller only: not the logs, not the audit table
        assertThat(logs.text()).doesNotContain(key);
        assertThat(dumpDatabase()).doesNotContain(key);
        execute("CHECKPOINT");
        assertNotInDataDir(key);
        assertThat(awaitAudit(tenant, user, 1)).hasSize(1);
    }

    @Test
    void nobodyButTheServiceCanReveal() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        assertThat(put(tenant, user, "{\"retellApiKey\":\"" + key + "\"}").statusCode()).isEqualTo(200);

        // over HTTP, without the service token, the read is refused before anything is read
        HttpResponse<String> anonymous = get("/api/v1/agent-config/" + tenant + "/" + user + "?reveal=true", null);
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.body()).doesNotContain(key);
        HttpResponse<String> wrongToken = get("/api/v1/agent-config/" + tenant + "/" + user + "?reveal=true",
                serviceToken + "x");
        assertThat(wrongToken.statusCode()).isEqualTo(401);

        // any authenticated caller that is not the service (issue 5's end-user JWTs) is refused
        // with 403, and the attempt is audited: the decision is HttpGuard.mayReveal
        dev.agentconfig.api.HttpReads reveal = context.getRegistry().lookupByNameAndType("httpReads", dev.agentconfig.api.HttpReads.class);
        HttpGuard guard = context.getRegistry().lookupByNameAndType("httpGuard", HttpGuard.class);
        Exchange asUser = new DefaultExchange(context);
        asUser.getMessage().setHeader(Exchange.HTTP_QUERY, "reveal=true");
        asUser.setProperty(dev.agentconfig.api.PathIdentity.PROPERTY,
                new dev.agentconfig.api.PathIdentity(tenant, user.toString()));
        asUser.setProperty(HttpGuard.CALLER_PROPERTY, "user");
        assertThat(guard.mayReveal(asUser)).isFalse();
        assertThatThrownBy(() -> reveal.authorize(asUser)).isInstanceOfSatisfying(Problem.class,
                p -> assertThat(p.status()).isEqualTo(403));
        List<Map<String, Object>> rows = awaitAudit(tenant, user, 1);
        assertThat(rows.get(0).get("success")).isEqualTo(false);
        assertThat((String) rows.get(0).get("details")).contains("caller-not-allowed");

        Exchange asService = new DefaultExchange(context);
        asService.setProperty(HttpGuard.CALLER_PROPERTY, HttpGuard.Caller.SERVICE);
        assertThat(guard.mayReveal(asService)).isTrue();
    }

    @Test
    void theDiagnosticsEndpointAndPage() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        assertThat(put(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"call_1\"}").statusCode())
                .isEqualTo(200);

        HttpResponse<String> r = diagnostics(tenant, user);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode report = json(r);
        assertThat(report.get("found").asBoolean()).isTrue();
        assertThat(report.get("failedChecks")).isEmpty();
        assertThat(report.get("checks")).hasSize(7);
        JsonNode profileKey = report.get("locations").get("user_profiles").get("fields").get("retellApiKey");
        assertThat(profileKey.get("value").asText()).isEqualTo(FieldCipher.mask(key));
        assertThat(profileKey.get("winner").asBoolean()).isTrue();
        assertThat(report.get("locations").get("user_settings").get("fields").get("retellApiKey").get("winner")
                .asBoolean()).isFalse();
        assertThat(report.get("merged").get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(key));
        assertThat(r.body()).doesNotContain(key).doesNotContain("v1:");

        // a user nobody knows is a diagnosis too (200), under the wrong tenant as well
        JsonNode nowhere = json(diagnostics(newTenant(), user));
        assertThat(nowhere.get("found").asBoolean()).isFalse();
        assertThat(nowhere.get("failedChecks").toString()).contains("in-user-profiles", "in-user-settings");
        assertThat(nowhere.toString()).doesNotContain("call_1");

        HttpResponse<String> page = get("/diagnostics", null);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow())
                .contains("default-src 'none'", "script-src 'self' 'sha256-", "connect-src 'self'");
        assertThat(page.body()).contains("<form", "/diagnostics").doesNotContain(serviceToken)
                .doesNotContainPattern("(src|href)=\"(https?:)?//");
        HttpResponse<String> post = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/diagnostics"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(logs.text()).doesNotContain(key);
    }

    @Test
    void readLatencyOverHttp() {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"retellApiKey\":\"" + newKey() + "\",\"callAgentId\":\"c\",\"smsAgentId\":\"s\"}")
                .statusCode()).isEqualTo(200);
        for (int i = 0; i < 50; i++) {
            assertThat(getConfig(tenant, user).statusCode()).isEqualTo(200); // warm-up
        }
        List<Long> micros = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = getConfig(tenant, user);
            micros.add((System.nanoTime() - t0) / 1_000);
            assertThat(r.statusCode()).isEqualTo(200);
        }
        Collections.sort(micros);
        String figure = String.format("FIGURE GET /api/v1/agent-config over HTTP, 300 sequential reads after 50 warm-up: "
                        + "p50 %.1f ms, p95 %.1f ms, max %.1f ms", micros.get(150) / 1000.0, micros.get(285) / 1000.0,
                micros.get(299) / 1000.0);
        LOG.info(figure);
        System.out.println(figure);
    }

    private List<Map<String, Object>> awaitAudit(String tenant, UUID user, int n) {
        return await().atMost(Duration.ofSeconds(10)).until(
                () -> query("SELECT success, CAST(details AS text) AS details FROM public.audit_log "
                        + "WHERE event = 'reveal' AND tenant_id = ? AND user_id = ? ORDER BY id", tenant, user),
                rows -> rows.size() >= n);
    }
}
