package dev.agentconfig.receipt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * The values that lost: a two-device conflict whose loser (a late offline edit) appears in the history with
 * the save that won, and is restored as a new edit; a replaced key appears masked and is restored from its
 * sealed copy without ever being shown.
 */
class HistoryTest extends ServiceTestSupport {

    private HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).header("Authorization", "Bearer " + serviceToken)
                .GET());
    }

    private HttpResponse<String> restore(String tenant, UUID user, String changeId) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user
                        + "/history/" + changeId + "/restore"))
                .header("Authorization", "Bearer " + serviceToken).POST(HttpRequest.BodyPublishers.noBody()));
    }

    private JsonNode history(String tenant, UUID user) {
        HttpResponse<String> r = get("/api/v1/agent-config/" + tenant + "/" + user + "/history");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).get("changes");
    }

    private JsonNode change(JsonNode changes, String field, String kind) {
        for (JsonNode c : changes) {
            if (c.get("field").asText().equals(field) && c.get("kind").asText().equals(kind)) {
                return c;
            }
        }
        return null;
    }

    private String callAgentId(UUID user) {
        return json((String) profileRow(user).orElseThrow().get("encrypted_agent_config")).get("call_agent_id").asText();
    }

    @Test
    void theLoserOfATwoDeviceConflictIsInTheHistoryAndIsRestored() {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"callAgentId\":\"call_start\"}").statusCode()).isEqualTo(200);
        // device A edits while offline; device B saves later but is online first
        Instant offlineEdit = Instant.now().minusSeconds(30);
        HttpResponse<String> deviceB = put(tenant, user, "{\"callAgentId\":\"call_device_b\"}");
        assertThat(deviceB.statusCode()).isEqualTo(200);
        HttpResponse<String> deviceA = put(tenant, user, "{\"callAgentId\":\"call_device_a\",\"editedAt\":\""
                + offlineEdit + "\"}");
        assertThat(json(deviceA).get("status").asText()).as(deviceA.body()).isEqualTo("stale");
        assertThat(callAgentId(user)).isEqualTo("call_device_b");

        // await: the stale save's audit row (which names the loser's save) is written off the request path
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            JsonNode l = change(history(tenant, user), "callAgentId", "lost");
            return l != null && l.has("saveId");
        });
        JsonNode changes = history(tenant, user);
        JsonNode lost = change(changes, "callAgentId", "lost");
        assertThat(lost.get("value").asText()).isEqualTo("call_device_a");
        assertThat(lost.get("saveId").asText()).isEqualTo(json(deviceA).get("saveId").asText());
        assertThat(lost.get("lostTo").get("saveId").asText()).isEqualTo(json(deviceB).get("saveId").asText());
        assertThat(lost.get("lostTo").get("origin").asText()).isEqualTo("http");
        JsonNode replaced = change(changes, "callAgentId", "replaced");
        assertThat(replaced.get("value").asText()).isEqualTo("call_start");
        assertThat(replaced.get("replacedBy").get("saveId").asText()).isEqualTo(json(deviceB).get("saveId").asText());

        HttpResponse<String> restored = restore(tenant, user, lost.get("changeId").asText());
        assertThat(restored.statusCode()).as(restored.body()).isEqualTo(200);
        assertThat(json(restored).get("status").asText()).isEqualTo("saved");
        assertThat(callAgentId(user)).isEqualTo("call_device_a");
        // the restore is a save of its own (origin restore) with a receipt; device B's value is now in the history
        JsonNode receipt = json(get("/api/v1/agent-config/" + tenant + "/" + user + "/saves/"
                + json(restored).get("saveId").asText()));
        assertThat(receipt.get("origin").asText()).isEqualTo("restore");
        assertThat(receipt.get("status").asText()).isEqualTo("applied");
        JsonNode afterwards = history(tenant, user);
        assertThat(afterwards.get(0).get("kind").asText()).isEqualTo("replaced");
        assertThat(afterwards.get(0).get("value").asText()).isEqualTo("call_device_b");
        await().atMost(Duration.ofSeconds(30)).until(() -> !query("SELECT 1 FROM public.audit_log WHERE user_id = ? "
                + "AND event = 'history-restore' AND details ->> 'changeId' = ?", user, lost.get("changeId").asText())
                .isEmpty());
    }

    @Test
    void aReplacedKeyIsMaskedInTheHistoryAndRestoredFromItsSealedCopy() {
        String tenant = newTenant();
        UUID user = newUser();
        String first = newKey();
        String second = newKey();
        assertThat(put(tenant, user, "{\"retellApiKey\":\"" + first + "\"}").statusCode()).isEqualTo(200);
        assertThat(put(tenant, user, "{\"retellApiKey\":\"" + second + "\"}").statusCode()).isEqualTo(200);
        HttpResponse<String> r = get("/api/v1/agent-config/" + tenant + "/" + user + "/history");
        assertThat(r.body()).doesNotContain(first).doesNotContain(second);
        JsonNode key = change(json(r).get("changes"), "retellApiKey", "replaced");
        assertThat(key.get("value").asText()).contains("…").startsWith(first.substring(0, 4));
        // the table holds only the envelope
        assertThat(query("SELECT value FROM public.field_history WHERE user_id = ?", user).toString()).doesNotContain(first);

        HttpResponse<String> restored = restore(tenant, user, key.get("changeId").asText());
        assertThat(restored.statusCode()).as(restored.body()).isEqualTo(200);
        assertThat(restored.body()).doesNotContain(first);
        HttpResponse<String> revealed = get("/api/v1/agent-config/" + tenant + "/" + user + "?reveal=true");
        assertThat(json(revealed).get("retellApiKey").asText()).as("the key in force").isEqualTo(first);
        assertThat(logs.text()).doesNotContain(first).doesNotContain(second);
    }

    @Test
    void anUnknownOrMalformedChangeIsAProblem() {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(restore(tenant, user, "999999999").statusCode()).isEqualTo(404);
        assertThat(restore(tenant, user, "x1").statusCode()).isEqualTo(400);
        assertThat(restore(tenant, user, "-3").statusCode()).isEqualTo(400);
        assertThat(history(tenant, user)).isEmpty();
    }
}
