package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.UserJwts;
import org.junit.jupiter.api.Test;

/**
 * The quarantine people act on: GET /api/v1/quarantine lists every quarantined entry with its failure history;
 * an entry the database keeps refusing is edited (the refused agent id replaced) and resubmitted until the
 * tables hold it; the receipts say which save won. Service token only. The sync runs only when asked.
 */
class QuarantineTest extends SyncTestSupport {
    private static final String SECRET = "quarantine-test-secret-0123456789abcdef0123456789";

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.sync.interval", "1h");
        p.setProperty("agentconfig.sync.initial-delay", "1h");
        p.setProperty("agentconfig.auth.jwt-secret", SECRET);
        return p;
    }

    private HttpResponse<String> post(String path, String token, String body) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + path))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)));
    }

    private HttpResponse<String> get(String path, String token) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).header("Authorization", "Bearer " + token)
                .GET());
    }

    private JsonNode listed(UUID user) {
        HttpResponse<String> list = get("/api/v1/quarantine", serviceToken);
        assertThat(list.statusCode()).as(list.body()).isEqualTo(200);
        for (JsonNode e : json(list).get("entries")) {
            if (e.get("userId").asText().equals(user.toString())) {
                return e;
            }
        }
        return null;
    }

    @Test
    void aRefusedAgentIdIsEditedAndResubmittedUntilTheTablesHoldIt() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        String base = "/api/v1/quarantine/" + tenant + "/" + user;
        execute("ALTER TABLE public.user_profiles ADD CONSTRAINT test_refuse_q CHECK "
                + "(encrypted_agent_config ->> 'call_agent_id' IS DISTINCT FROM 'refused_value')");
        HttpResponse<String> saved;
        try {
            saved = put(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"refused_value\"}");
            assertThat(json(saved).get("status").asText()).as(saved.body()).isEqualTo("quarantined");
            // resubmitted as it is: refused again, a second failure in its history
            assertThat(post(base + "/resubmit", serviceToken, null).statusCode()).isEqualTo(202);
            assertThat(sync().get("quarantined").asInt()).isEqualTo(1);
        } finally {
            execute("ALTER TABLE public.user_profiles DROP CONSTRAINT test_refuse_q");
        }
        JsonNode entry = listed(user);
        assertThat(entry).as("the quarantine lists the entry").isNotNull();
        assertThat(entry.get("tenantId").asText()).isEqualTo(tenant);
        assertThat(entry.get("failures")).hasSize(2);
        for (JsonNode failure : entry.get("failures")) {
            assertThat(failure.get("failureClass").asText()).isEqualTo("rejected");
            assertThat(failure.get("code").asText()).isEqualTo("23514");
            assertThat(failure.get("message").asText()).contains("test_refuse_q");
            assertThat(failure.get("target").asText()).isEqualTo("user_profiles");
            assertThat(failure.get("at").asText()).isNotEmpty();
        }
        assertThat(entry.get("fields").get("callAgentId").get("value").asText()).isEqualTo("refused_value");
        // the key is masked, never whole nor its envelope
        String shown = entry.get("fields").get("retellApiKey").get("value").asText();
        assertThat(shown).contains("…").isNotEqualTo(key);
        assertThat(entry.toString()).doesNotContain(key);

        HttpResponse<String> edited = post(base + "/edit", serviceToken,
                "{\"set\":{\"callAgentId\":\"agent_fixed\"},\"reason\":\"the old id was retired\",\"operator\":\"ops-bo\"}");
        assertThat(edited.statusCode()).as(edited.body()).isEqualTo(200);
        assertThat(json(edited).get("status").asText()).isEqualTo("edited");
        assertThat(json(edited).get("state").asText()).isEqualTo("quarantined");
        String editId = json(edited).get("saveId").asText();
        assertThat(localEntry(tenant, user).orElseThrow().get("fields").get("callAgentId").get("saveId").asText())
                .isEqualTo(editId);

        assertThat(post(base + "/resubmit", serviceToken, null).statusCode()).isEqualTo(202);
        JsonNode pass = sync();
        assertThat(pass.get("drained").asInt()).as(pass.toString()).isEqualTo(1);
        assertThat(localEntry(tenant, user)).isEmpty();
        assertThat(json((String) profileRow(user).orElseThrow().get("encrypted_agent_config")).get("call_agent_id")
                .asText()).isEqualTo("agent_fixed");
        assertThat(listed(user)).isNull();
        // the original save's call agent id lost to the operator's edit; its key was applied
        JsonNode original = json(get("/api/v1/agent-config/" + tenant + "/" + user + "/saves/"
                + json(saved).get("saveId").asText(), serviceToken));
        JsonNode call = original.get("fields").get("callAgentId");
        assertThat(call.get("verdict").asText()).as(original.toString()).isEqualTo("superseded");
        assertThat(call.get("by").get("saveId").asText()).isEqualTo(editId);
        assertThat(call.get("by").get("origin").asText()).isEqualTo("operator");
        assertThat(original.get("fields").get("retellApiKey").get("verdict").asText()).isEqualTo("applied");
        JsonNode edit = json(get("/api/v1/agent-config/" + tenant + "/" + user + "/saves/" + editId, serviceToken));
        assertThat(edit.get("status").asText()).as(edit.toString()).isEqualTo("applied");
        // audited with who and why
        assertThat(query("SELECT details ->> 'operator' AS op, details ->> 'reason' AS why FROM public.audit_log "
                + "WHERE user_id = ? AND event = 'sync-edit'", user))
                .singleElement().satisfies(r -> {
                    assertThat(r.get("op")).isEqualTo("ops-bo");
                    assertThat(r.get("why")).isEqualTo("the old id was retired");
                });
    }

    @Test
    void anEditIsCheckedLikeASaveAndOnlyForAQuarantinedEntry() {
        String tenant = newTenant();
        UUID user = newUser();
        String base = "/api/v1/quarantine/" + tenant + "/" + user;
        HttpResponse<String> none = post(base + "/edit", serviceToken,
                "{\"set\":{\"callAgentId\":\"agent_x\"},\"reason\":\"fix\"}");
        assertThat(none.statusCode()).as(none.body()).isEqualTo(404);
        assertThat(none.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        HttpResponse<String> invalid = post(base + "/edit", serviceToken,
                "{\"set\":{\"callAgentId\":\"agent x\"},\"reason\":\"fix\"}");
        assertThat(invalid.statusCode()).as(invalid.body()).isEqualTo(400);
        HttpResponse<String> noReason = post(base + "/edit", serviceToken, "{\"set\":{\"callAgentId\":\"agent_x\"}}");
        assertThat(noReason.statusCode()).as(noReason.body()).isEqualTo(400);
        withTablesAway(() -> putQueued(tenant, user, "{\"callAgentId\":\"agent_pending\"}"));
        HttpResponse<String> pending = post(base + "/edit", serviceToken,
                "{\"set\":{\"callAgentId\":\"agent_x\"},\"reason\":\"fix\"}");
        assertThat(pending.statusCode()).as(pending.body()).isEqualTo(409);
        assertThat(localEntry(tenant, user).orElseThrow().get("fields").get("callAgentId").get("value").asText())
                .isEqualTo("agent_pending");
    }

    @Test
    void onlyTheServiceTokenSeesOrActsOnTheQuarantine() {
        String tenant = newTenant();
        UUID user = newUser();
        String jwt = UserJwts.user(SECRET, tenant, user).sign();
        String base = "/api/v1/quarantine/" + tenant + "/" + user;
        assertThat(get("/api/v1/quarantine", jwt).statusCode()).isEqualTo(403);
        assertThat(get("/api/v1/quarantine", "nonsense").statusCode()).isEqualTo(401);
        for (String action : new String[] {"/resubmit", "/edit", "/abandon"}) {
            HttpResponse<String> r = post(base + action, jwt, "{\"set\":{\"callAgentId\":\"a\"},\"reason\":\"r\"}");
            assertThat(r.statusCode()).as(action + ": " + r.body()).isEqualTo(403);
            assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        }
    }
}
