package dev.agentconfig.save;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

/** The save path with a healthy database: both tables, the envelope, versions, idempotency. */
class SaveRouteTest extends ServiceTestSupport {

    @Test
    void aSaveLandsInBothTablesWithTheKeySealed() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();

        Exchange ex = saveRoute(tenant, user,
                "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"agent_call_1\",\"smsAgentId\":\"agent_sms_1\"}");

        assertThat(ex.getException()).isNull();
        assertThat(ex.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE)).isEqualTo(200);
        @SuppressWarnings("unchecked")
        Map<String, Object> answer = ex.getMessage().getBody(Map.class);
        assertThat(answer).containsEntry("status", "saved");
        assertThat(answer.get("targets")).isEqualTo(Map.of("user_profiles", "saved", "user_settings", "saved"));
        long version = ((Number) answer.get("version")).longValue();

        Map<String, Object> profile = profileRow(user).orElseThrow();
        assertThat(profile.get("tenant_id")).isEqualTo(tenant);
        String envelope = (String) profile.get("encrypted_retell_api_key");
        assertThat(envelope).startsWith("v1:").doesNotContain(key);
        assertThat(cipher().open(envelope, tenant + ":" + user + ":retellApiKey")).isEqualTo(key);
        JsonNode config = json((String) profile.get("encrypted_agent_config"));
        assertThat(config.get("call_agent_id").asText()).isEqualTo("agent_call_1");
        assertThat(config.get("sms_agent_id").asText()).isEqualTo("agent_sms_1");
        JsonNode versions = json((String) profile.get("field_versions"));
        assertThat(versions.get("retellApiKey").asLong()).isEqualTo(version);
        assertThat(versions.get("callAgentId").asLong()).isEqualTo(version);

        Map<String, Object> settings = settingsRow(user).orElseThrow();
        assertThat(settings.get("tenant_id")).isEqualTo(tenant);
        JsonNode retellConfig = json((String) settings.get("retell_config"));
        assertThat(retellConfig.get("call_agent_id").asText()).isEqualTo("agent_call_1");
        assertThat(retellConfig.has("api_key")).isFalse();
        String settingsEnvelope = json((String) settings.get("encrypted_api_keys")).get("retell_api_key").asText();
        assertThat(cipher().open(settingsEnvelope, tenant + ":" + user + ":retellApiKey")).isEqualTo(key);
        assertThat(settings.get("api_key_updated_at")).isNotNull();

        // the plaintext is nowhere: not in a logical dump, not in any file of the data dir, not in the logs
        assertThat(dumpDatabase()).doesNotContain(key).contains(envelope);
        execute("CHECKPOINT");
        assertNotInDataDir(key);
        assertThat(logs.text()).doesNotContain(key);
        assertThat(localEntry(tenant, user)).isEmpty();
    }

    @Test
    void savingTheSameUserAgainUpdatesInsteadOfConflicting() {
        String tenant = newTenant();
        UUID user = newUser();

        HttpResponse<String> first = put(tenant, user, "{\"callAgentId\":\"agent_a\"}");
        HttpResponse<String> second = put(tenant, user, "{\"callAgentId\":\"agent_b\"}");

        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        assertThat(query("SELECT count(*) AS n FROM public.user_profiles WHERE user_id = ?", user).get(0).get("n"))
                .isEqualTo(1L);
        assertThat(json((String) profileRow(user).orElseThrow().get("encrypted_agent_config"))
                .get("call_agent_id").asText()).isEqualTo("agent_b");
        assertThat(json((String) settingsRow(user).orElseThrow().get("retell_config"))
                .get("call_agent_id").asText()).isEqualTo("agent_b");
    }

    @Test
    void aPartialSaveKeepsTheOtherFieldsAndNullClearsOne() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        assertThat(put(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"c1\",\"smsAgentId\":\"s1\"}")
                .statusCode()).isEqualTo(200);

        assertThat(put(tenant, user, "{\"smsAgentId\":\"s2\"}").statusCode()).isEqualTo(200);
        JsonNode config = json((String) profileRow(user).orElseThrow().get("encrypted_agent_config"));
        assertThat(config.get("call_agent_id").asText()).isEqualTo("c1");
        assertThat(config.get("sms_agent_id").asText()).isEqualTo("s2");
        assertThat((String) profileRow(user).orElseThrow().get("encrypted_retell_api_key")).startsWith("v1:");

        assertThat(put(tenant, user, "{\"callAgentId\":null}").statusCode()).isEqualTo(200);
        config = json((String) profileRow(user).orElseThrow().get("encrypted_agent_config"));
        assertThat(config.get("call_agent_id").isNull()).isTrue();
        assertThat(config.get("sms_agent_id").asText()).isEqualTo("s2");
        JsonNode settingsConfig = json((String) settingsRow(user).orElseThrow().get("retell_config"));
        assertThat(settingsConfig.get("call_agent_id").isNull()).isTrue();
        assertThat(settingsConfig.get("sms_agent_id").asText()).isEqualTo("s2");

        assertThat(put(tenant, user, "{\"retellApiKey\":null}").statusCode()).isEqualTo(200);
        assertThat(profileRow(user).orElseThrow().get("encrypted_retell_api_key")).isNull();
        assertThat(json((String) settingsRow(user).orElseThrow().get("encrypted_api_keys")).get("retell_api_key")
                .isNull()).isTrue();
    }

    @Test
    void anOlderSaveReplayedAfterANewerOneChangesNothing() {
        String tenant = newTenant();
        UUID user = newUser();
        // save A (remembered under an Idempotency-Key), then a newer save B of one field
        HttpResponse<String> a = putWithKey(tenant, user, "{\"callAgentId\":\"old_call\",\"smsAgentId\":\"old_sms\"}", "save-a");
        HttpResponse<String> b = put(tenant, user, "{\"callAgentId\":\"new_call\"}");
        assertThat(a.statusCode()).isEqualTo(200);
        assertThat(b.statusCode()).isEqualTo(200);

        // replaying A (same key, same content: same version) must not bring old_call back
        HttpResponse<String> replay = putWithKey(tenant, user, "{\"callAgentId\":\"old_call\",\"smsAgentId\":\"old_sms\"}", "save-a");
        assertThat(replay.statusCode()).isEqualTo(200);
        assertThat(json(replay).get("version").asLong()).isEqualTo(json(a).get("version").asLong());
        assertThat(json(replay).get("targets").get("user_profiles").asText()).isEqualTo("stale");

        for (Map<String, Object> row : java.util.List.of(profileRow(user).orElseThrow(), settingsRow(user).orElseThrow())) {
            String column = row.containsKey("encrypted_agent_config") ? "encrypted_agent_config" : "retell_config";
            JsonNode config = json((String) row.get(column));
            assertThat(config.get("call_agent_id").asText()).isEqualTo("new_call");
            assertThat(config.get("sms_agent_id").asText()).isEqualTo("old_sms");
        }
    }

    @Test
    void theSameSaveTwiceIsANoOp() {
        String tenant = newTenant();
        UUID user = newUser();
        String body = "{\"callAgentId\":\"c1\",\"smsAgentId\":\"s1\"}";
        HttpResponse<String> first = putWithKey(tenant, user, body, "same-save");
        Map<String, Object> before = profileRow(user).orElseThrow();
        Map<String, Object> settingsBefore = settingsRow(user).orElseThrow();

        HttpResponse<String> second = putWithKey(tenant, user, body, "same-save");

        assertThat(second.statusCode()).isEqualTo(200);
        assertThat(json(second).get("saveId").asText()).isEqualTo(json(first).get("saveId").asText());
        assertThat(profileRow(user).orElseThrow()).isEqualTo(before);
        assertThat(settingsRow(user).orElseThrow()).isEqualTo(settingsBefore);

        HttpResponse<String> reused = putWithKey(tenant, user, "{\"callAgentId\":\"other\"}", "same-save");
        assertThat(reused.statusCode()).isEqualTo(409);
        assertThat(json(reused).get("type").asText()).endsWith("idempotency-key-reused");
    }

    @Test
    void everySaveOutcomeIsAuditedWithoutTheSecret() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        put(tenant, user, "{\"retellApiKey\":\"" + key + "\"}");
        put(tenant, user, "{\"callAgentId\":\"bad id!\"}");

        await().atMost(Duration.ofSeconds(10)).until(() ->
                query("SELECT count(*) AS n FROM public.audit_log WHERE user_id = ?", user).get(0).get("n").equals(2L));
        var rows = query("SELECT event, tenant_id, success, details::text AS details FROM public.audit_log "
                + "WHERE user_id = ? ORDER BY id", user);
        assertThat(rows.get(0)).containsEntry("event", "save").containsEntry("success", true)
                .containsEntry("tenant_id", tenant);
        JsonNode okDetails = json((String) rows.get(0).get("details"));
        assertThat(okDetails.get("targets").get("user_profiles").asText()).isEqualTo("saved");
        assertThat(okDetails.get("fields").toString()).contains("retellApiKey");
        assertThat(rows.get(1)).containsEntry("success", false);
        assertThat(json((String) rows.get(1).get("details")).get("status").asInt()).isEqualTo(400);
        assertThat(rows.toString()).doesNotContain(key);
    }

    private HttpResponse<String> putWithKey(String tenant, UUID user, String json, String idempotencyKey) {
        return send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                        baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + serviceToken)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", idempotencyKey)
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString(json)));
    }
}
