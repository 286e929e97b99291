package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.UserJwts;
import org.junit.jupiter.api.Test;

/**
 * A save under the wrong tenant never blocks its user (issue 19, item 4): refused before it is parked
 * when the user's tenant is known, and once quarantined (when it was not known) it never makes the user's
 * later saves under the right tenant fail; an operator gives it up with POST …/abandon.
 */
class TenantQuarantineTest extends SyncTestSupport {
    private static final String JWT_SECRET = "tenant-quarantine-test-secret-at-least-32-bytes";

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.auth.jwt-secret", JWT_SECRET);
        return p;
    }

    private HttpResponse<String> abandon(String tenant, UUID user, String authorization, String body) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user
                        + "/abandon"))
                .header("Authorization", authorization)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    /** A wrong-tenant entry quarantined by the sync: parked while user_profiles is away, refused on replay. */
    private void quarantinedUnder(String wrongTenant, UUID user, String rightTenant) {
        execute("INSERT INTO public.user_profiles (user_id, tenant_id) VALUES ('" + user + "', '" + rightTenant + "')");
        withTablesAway(() -> putQueued(wrongTenant, user, "{\"callAgentId\":\"c_wrong\"}"));
        // this pass, or the one the tables' return started, finds the user under the other tenant
        sync();
        await().atMost(Duration.ofSeconds(30)).until(() -> localEntry(wrongTenant, user)
                .map(e -> e.get("state").asText().equals("quarantined")).orElse(false));
        JsonNode entry = localEntry(wrongTenant, user).orElseThrow();
        assertThat(entry.get("state").asText()).isEqualTo("quarantined");
        assertThat(entry.get("lastError").get("code").asText()).isEqualTo("AC409");
    }

    @Test
    void aWrongTenantSaveParkedDuringAnOutageNeverBlocksTheUsersOwnSaves() {
        String right = newTenant();
        String wrong = newTenant();
        UUID user = newUser();
        // the user is in the tables under its tenant, written by someone else: this instance does not know it
        execute("INSERT INTO public.user_profiles (user_id, tenant_id) VALUES ('" + user + "', '" + right + "')");

        stopDatabase();
        HttpResponse<String> parked;
        try {
            parked = put(wrong, user, "{\"callAgentId\":\"c_wrong\"}");
        } finally {
            startDatabase();
            resetBreakers();
        }
        // the tenant was not knowable: taken and parked
        assertThat(parked.statusCode()).as(parked.body()).isEqualTo(202);
        assertThat(json(parked).get("status").asText()).isEqualTo("queued");

        // a pass (the one the database's return starts, or this one) finds the user under the other tenant
        sync();
        JsonNode quarantined = localEntry(wrong, user).orElseThrow();
        assertThat(quarantined.get("state").asText()).isEqualTo("quarantined");
        assertThat(quarantined.get("lastError").get("code").asText()).isEqualTo("AC409");

        // the user's own save under the right tenant is taken (before the fix: 409 tenant-conflict)
        HttpResponse<String> mine = put(right, user, "{\"callAgentId\":\"c_mine\"}");
        assertThat(mine.statusCode()).as(mine.body()).isEqualTo(200);
        assertThat(json(mine).get("status").asText()).isEqualTo("saved");
        assertThat(jsonOf(profileRow(user).orElseThrow(), "encrypted_agent_config").get("call_agent_id").asText())
                .isEqualTo("c_mine");
        assertThat(text(profileRow(user).orElseThrow(), "tenant_id")).isEqualTo(right);
        // and parked when the tables cannot take it
        withTablesAway(() -> putQueued(right, user, "{\"smsAgentId\":\"s_mine\"}"));
        assertThat(localEntry(right, user).orElseThrow().get("state").asText()).isEqualTo("pending");
        // drained by this pass or by the one the tables' return started (a count per pass would race it)
        sync();
        await().atMost(Duration.ofSeconds(30)).until(() -> localEntry(right, user).isEmpty());
        assertThat(jsonOf(settingsRow(user).orElseThrow(), "retell_config").get("sms_agent_id").asText())
                .isEqualTo("s_mine");
        // the quarantined entry is still there for an operator, untouched
        assertThat(localEntry(wrong, user).orElseThrow().get("state").asText()).isEqualTo("quarantined");
    }

    @Test
    void aWrongTenantSaveIsRefusedBeforeItIsParkedWhenTheTenantIsKnown() {
        String right = newTenant();
        String wrong = newTenant();
        UUID user = newUser();
        // this instance saw a table take the user under its tenant
        HttpResponse<String> first = put(right, user, "{\"callAgentId\":\"c_first\"}");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);

        stopDatabase();
        HttpResponse<String> refused;
        HttpResponse<String> mine;
        try {
            refused = put(wrong, user, "{\"callAgentId\":\"c_wrong\"}");
            mine = put(right, user, "{\"callAgentId\":\"c_during\"}");
        } finally {
            startDatabase();
            resetBreakers();
        }
        // before the fix: 202 queued, later quarantined, and the user's saves 409 from then on
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(409);
        assertThat(refused.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(json(refused).get("type").asText()).endsWith("/tenant-conflict");
        assertThat(localEntry(wrong, user)).isEmpty();
        // the user's own save during the outage is parked
        assertThat(mine.statusCode()).as(mine.body()).isEqualTo(202);
        sync(); // (or the pass the database's return started)
        assertThat(localEntry(right, user)).isEmpty();
        assertThat(jsonOf(profileRow(user).orElseThrow(), "encrypted_agent_config").get("call_agent_id").asText())
                .isEqualTo("c_during");
        assertThat(text(profileRow(user).orElseThrow(), "tenant_id")).isEqualTo(right);
    }

    @Test
    void anOperatorAbandonsAQuarantinedEntryAuditedWithWhoAndWhy() throws IOException {
        String right = newTenant();
        String wrong = newTenant();
        UUID user = newUser();
        UUID other = newUser();
        quarantinedUnder(wrong, user, right);
        quarantinedUnder(wrong, other, right);
        byte[] otherBefore = Files.readAllBytes(localFile(wrong, other));
        double quarantined = gauge("agentconfig.sync.quarantined.entries");

        // a user's JWT may not, even its own entry's
        String jwt = UserJwts.user(JWT_SECRET, wrong, user).sign();
        HttpResponse<String> asUser = abandon(wrong, user, "Bearer " + jwt, "{\"reason\":\"mine\"}");
        assertThat(asUser.statusCode()).as(asUser.body()).isEqualTo(403);
        assertThat(asUser.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        // a reason is required
        HttpResponse<String> noReason = abandon(wrong, user, "Bearer " + serviceToken, "{}");
        assertThat(noReason.statusCode()).as(noReason.body()).isEqualTo(400);
        HttpResponse<String> controlled = abandon(wrong, user, "Bearer " + serviceToken, "{\"reason\":\"a\\nb\"}");
        assertThat(controlled.statusCode()).as(controlled.body()).isEqualTo(400);
        assertThat(localEntry(wrong, user).orElseThrow().get("state").asText()).isEqualTo("quarantined");

        HttpResponse<String> done = abandon(wrong, user, "Bearer " + serviceToken,
                "{\"reason\":\"saved under the wrong tenant by a misconfigured client\",\"operator\":\"alice\"}");

        assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
        JsonNode answer = json(done);
        assertThat(answer.get("status").asText()).isEqualTo("abandoned");
        String keptAs = answer.get("keptAs").asText();
        assertThat(keptAs).startsWith("local-store-abandoned/" + wrong + "/" + user + ".").endsWith(".json");
        // kept aside, not deleted: the entry as it was, owner-only
        Path kept = dataDir.resolve(keptAs);
        assertThat(json(Files.readString(kept)).get("state").asText()).isEqualTo("quarantined");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(kept))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(kept.getParent()))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir.resolve("local-store-abandoned"))))
                .isEqualTo("rwx------");
        assertThat(localEntry(wrong, user)).isEmpty();
        assertThat(gauge("agentconfig.sync.quarantined.entries")).isEqualTo(quarantined - 1);
        // audited with who and why
        await().atMost(Duration.ofSeconds(10)).until(() -> !query("SELECT 1 FROM public.audit_log WHERE "
                + "event = 'sync-abandon' AND user_id = ?", user).isEmpty());
        List<Map<String, Object>> rows = query("SELECT tenant_id, success, CAST(details AS text) AS details "
                + "FROM public.audit_log WHERE event = 'sync-abandon' AND user_id = ?", user);
        assertThat(rows).hasSize(1);
        assertThat(text(rows.get(0), "tenant_id")).isEqualTo(wrong);
        JsonNode details = jsonOf(rows.get(0), "details");
        assertThat(details.get("by").asText()).isEqualTo("service-token");
        assertThat(details.get("operator").asText()).isEqualTo("alice");
        assertThat(details.get("reason").asText()).isEqualTo("saved under the wrong tenant by a misconfigured client");
        assertThat(details.get("previousCode").asText()).isEqualTo("AC409");
        assertThat(details.get("keptAs").asText()).isEqualTo(keptAs);
        // another user's entry untouched
        assertThat(Files.readAllBytes(localFile(wrong, other))).isEqualTo(otherBefore);
        // nothing left to abandon; the sync never sees it again
        assertThat(abandon(wrong, user, "Bearer " + serviceToken, "{\"reason\":\"again\"}").statusCode()).isEqualTo(404);
        assertThat(retry(wrong, user).statusCode()).isEqualTo(404);
        assertThat(Files.exists(kept)).isTrue();
    }

    @Test
    void aPendingEntryIsNotAbandoned() {
        String tenant = newTenant();
        UUID user = newUser();
        withTablesAway(() -> putQueued(tenant, user, "{\"callAgentId\":\"c_pending\"}"));

        HttpResponse<String> r = abandon(tenant, user, "Bearer " + serviceToken, "{\"reason\":\"impatient\"}");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
        assertThat(json(r).get("type").asText()).endsWith("/not-quarantined");
        assertThat(localEntry(tenant, user).orElseThrow().get("state").asText()).isEqualTo("pending");
        assertThat(Files.exists(dataDir.resolve("local-store-abandoned").resolve(tenant))).isFalse();
        sync();
        await().atMost(Duration.ofSeconds(30)).until(() -> localEntry(tenant, user).isEmpty());
        assertThat(profileRow(user)).isPresent();
    }
}
