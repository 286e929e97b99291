package dev.agentconfig.receipt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.sync.SyncTestSupport;
import org.junit.jupiter.api.Test;

/**
 * Every save has a receipt (GET …/saves/{saveId}), each field's verdict derived from the save's audit rows, the
 * local entry and the tables' versions: applied, superseded (by which save), pending (where, since) then
 * applied or superseded once it drained, refused (why), abandoned; through the HTTP door, the inbox and the
 * drain. The sync runs only when a test asks (no timed pass in between).
 */
class ReceiptTest extends SyncTestSupport {

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.sync.interval", "1h");
        p.setProperty("agentconfig.sync.initial-delay", "1h");
        return p;
    }

    private HttpResponse<String> receipt(String tenant, UUID user, String saveId) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user
                        + "/saves/" + saveId))
                .header("Authorization", "Bearer " + serviceToken).GET());
    }

    /** The receipt once it is there (a parked save's audit row is written off the request path). */
    private JsonNode receiptOf(String tenant, UUID user, String saveId) {
        AtomicReference<HttpResponse<String>> r = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            r.set(receipt(tenant, user, saveId));
            return r.get().statusCode() != 404;
        });
        assertThat(r.get().statusCode()).as(r.get().body()).isEqualTo(200);
        assertThat(r.get().headers().firstValue("Content-Type")).hasValue("application/json");
        return json(r.get());
    }

    private static String saveId(HttpResponse<String> answer) {
        return json(answer).get("saveId").asText();
    }

    @Test
    void aSavedSaveIsAppliedAndLaterSupersededByTheSaveThatReplacedEachField() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        HttpResponse<String> first = put(tenant, user, "{\"retellApiKey\":\"" + key
                + "\",\"callAgentId\":\"call_1\",\"smsAgentId\":\"sms_1\"}");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        JsonNode applied = receiptOf(tenant, user, saveId(first));
        assertThat(applied.get("status").asText()).isEqualTo("applied");
        assertThat(applied.get("origin").asText()).isEqualTo("http");
        assertThat(applied.get("answered").asText()).isEqualTo("saved");
        assertThat(applied.get("version").asLong()).isEqualTo(json(first).get("version").asLong());
        assertThat(Instant.parse(applied.get("editedAt").asText())).isNotNull();
        for (String field : new String[] {"retellApiKey", "callAgentId", "smsAgentId"}) {
            assertThat(applied.get("fields").get(field).get("verdict").asText()).as(field).isEqualTo("applied");
        }

        // a second save replaces the call agent id only
        HttpResponse<String> second = put(tenant, user, "{\"callAgentId\":\"call_2\"}");
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        JsonNode lost = receiptOf(tenant, user, saveId(first));
        assertThat(lost.get("status").asText()).isEqualTo("superseded");
        JsonNode call = lost.get("fields").get("callAgentId");
        assertThat(call.get("verdict").asText()).isEqualTo("superseded");
        assertThat(call.get("by").get("saveId").asText()).isEqualTo(saveId(second));
        assertThat(call.get("by").get("version").asLong()).isEqualTo(json(second).get("version").asLong());
        assertThat(call.get("by").get("origin").asText()).isEqualTo("http");
        assertThat(call.get("by").get("editedAt").asText()).isNotEmpty();
        assertThat(lost.get("fields").get("smsAgentId").get("verdict").asText()).isEqualTo("applied");
        assertThat(lost.get("fields").get("retellApiKey").get("verdict").asText()).isEqualTo("applied");
        // never a value: neither the key nor an agent id
        assertThat(lost.toString()).doesNotContain(key).doesNotContain("call_1").doesNotContain("call_2");

        // an edit from before (editedAt) answers stale: its receipt says which save won
        HttpResponse<String> late = put(tenant, user, "{\"callAgentId\":\"call_old\",\"editedAt\":\""
                + Instant.now().minusSeconds(3600) + "\"}");
        assertThat(json(late).get("status").asText()).as(late.body()).isEqualTo("stale");
        JsonNode stale = receiptOf(tenant, user, saveId(late));
        assertThat(stale.get("status").asText()).isEqualTo("superseded");
        assertThat(stale.get("answered").asText()).isEqualTo("stale");
        assertThat(stale.get("fields").get("callAgentId").get("by").get("saveId").asText()).isEqualTo(saveId(second));
    }

    @Test
    void aParkedSaveIsPendingThenAppliedWhenItDrains() {
        String tenant = newTenant();
        UUID user = newUser();
        AtomicReference<String> parked = new AtomicReference<>();
        withTablesAway(() -> {
            parked.set(putQueued(tenant, user, "{\"callAgentId\":\"call_parked\"}").get("saveId").asText());
            JsonNode pending = receiptOf(tenant, user, parked.get());
            assertThat(pending.get("status").asText()).as(pending.toString()).isEqualTo("pending");
            JsonNode call = pending.get("fields").get("callAgentId");
            assertThat(call.get("verdict").asText()).isEqualTo("pending");
            assertThat(call.get("where").asText()).isEqualTo("local-store");
            assertThat(Instant.parse(call.get("since").asText())).isBeforeOrEqualTo(Instant.now());
            assertThat(call.get("targets")).hasSize(2);
        });
        JsonNode pass = sync();
        assertThat(pass.get("drained").asInt()).as(pass.toString()).isEqualTo(1);
        JsonNode drained = receiptOf(tenant, user, parked.get());
        assertThat(drained.get("status").asText()).as(drained.toString()).isEqualTo("applied");
        assertThat(drained.get("answered").asText()).isEqualTo("queued");
        assertThat(drained.get("fields").get("callAgentId").get("verdict").asText()).isEqualTo("applied");
        // the drain's own audit row names the save (written in the batch's transaction)
        assertThat(drained.get("fields").get("callAgentId").get("via").asText()).isEqualTo("sync");
    }

    @Test
    void aParkedSaveThatANewerSaveOvertookIsSupersededWhenItDrains() {
        String tenant = newTenant();
        UUID user = newUser();
        AtomicReference<String> parked = new AtomicReference<>();
        withTablesAway(() -> parked.set(putQueued(tenant, user, "{\"callAgentId\":\"call_offline\",\"editedAt\":\""
                + Instant.now().minusSeconds(60) + "\"}").get("saveId").asText()));
        // another device saves a newer value straight into the tables before the drain
        HttpResponse<String> newer = put(tenant, user, "{\"callAgentId\":\"call_online\"}");
        assertThat(newer.statusCode()).as(newer.body()).isEqualTo(200);
        JsonNode before = receiptOf(tenant, user, parked.get());
        assertThat(before.get("status").asText()).as(before.toString()).isEqualTo("pending");

        sync();
        assertThat(localEntry(tenant, user)).isEmpty();
        JsonNode after = receiptOf(tenant, user, parked.get());
        assertThat(after.get("status").asText()).as(after.toString()).isEqualTo("superseded");
        assertThat(after.get("fields").get("callAgentId").get("by").get("saveId").asText()).isEqualTo(saveId(newer));
        assertThat(json((String) profileRow(user).orElseThrow().get("encrypted_agent_config")).get("call_agent_id")
                .asText()).isEqualTo("call_online");
    }

    @Test
    void aSaveTheDatabaseRefusedIsRefusedWithTheReasonAndAbandonedOnceGivenUp() {
        String tenant = newTenant();
        UUID user = newUser();
        execute("ALTER TABLE public.user_profiles ADD CONSTRAINT test_refuse_receipt CHECK "
                + "(encrypted_agent_config ->> 'call_agent_id' IS DISTINCT FROM 'refused_value')");
        HttpResponse<String> r;
        try {
            r = put(tenant, user, "{\"callAgentId\":\"refused_value\"}");
        } finally {
            execute("ALTER TABLE public.user_profiles DROP CONSTRAINT test_refuse_receipt");
        }
        assertThat(json(r).get("status").asText()).as(r.body()).isEqualTo("quarantined");
        JsonNode refused = receiptOf(tenant, user, saveId(r));
        assertThat(refused.get("status").asText()).as(refused.toString()).isEqualTo("refused");
        JsonNode call = refused.get("fields").get("callAgentId");
        assertThat(call.get("where").asText()).isEqualTo("quarantine");
        assertThat(call.get("reason").get("code").asText()).isEqualTo("23514");
        assertThat(call.get("reason").get("failureClass").asText()).isEqualTo("rejected");

        HttpResponse<String> abandon = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/"
                        + tenant + "/" + user + "/abandon"))
                .header("Authorization", "Bearer " + serviceToken).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"reason\":\"the value is not an agent\",\"operator\":\"ops-ann\"}")));
        assertThat(abandon.statusCode()).as(abandon.body()).isEqualTo(200);
        AtomicReference<JsonNode> given = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            given.set(receiptOf(tenant, user, saveId(r)));
            return "abandoned".equals(given.get().get("status").asText());
        });
        JsonNode gone = given.get().get("fields").get("callAgentId");
        assertThat(gone.get("reason").asText()).isEqualTo("the value is not an agent");
        assertThat(gone.get("operator").asText()).isEqualTo("ops-ann");
        assertThat(gone.get("keptAs").asText()).startsWith("local-store-abandoned/");
    }

    @Test
    void aSaveRefusedAtTheDoorIsRefusedWithItsProblem() {
        String tenant = newTenant();
        String intruder = newTenant();
        UUID user = newUser();
        // the user is in the tables under its tenant, written by someone else: only the database knows it
        execute("INSERT INTO public.user_profiles (user_id, tenant_id) VALUES ('" + user + "', '" + tenant + "')");
        HttpResponse<String> r = put(intruder, user, "{\"callAgentId\":\"c_wrong\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
        // the refusal's audit row holds the saveId the save had been given
        AtomicReference<String> saveId = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            var rows = query("SELECT details ->> 'saveId' AS id FROM public.audit_log WHERE user_id = ? AND NOT success "
                    + "AND event = 'save'", user);
            saveId.set(rows.isEmpty() ? null : (String) rows.get(0).get("id"));
            return saveId.get() != null;
        });
        JsonNode refused = receiptOf(intruder, user, saveId.get());
        assertThat(refused.get("status").asText()).as(refused.toString()).isEqualTo("refused");
        JsonNode call = refused.get("fields").get("callAgentId");
        assertThat(call.get("reason").get("status").asInt()).isEqualTo(409);
        assertThat(call.get("reason").get("problem").asText()).endsWith("tenant-conflict");
        // under the user's real tenant the refused save is not that user's: nothing to see
        assertThat(receipt(tenant, user, saveId.get()).statusCode()).isEqualTo(404);
    }

    @Test
    void aSaveFromTheInboxHasAReceiptToo() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        Path inbox = dataDir.resolve("inbox");
        Path tmp = dataDir.resolve("receipt-1.json.partial");
        Files.writeString(tmp, "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user
                + "\",\"callAgentId\":\"agent_from_inbox\"}");
        Files.move(tmp, inbox.resolve("receipt-1.json"), StandardCopyOption.ATOMIC_MOVE);
        Path done = inbox.resolve(".done/receipt-1.json");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(done));
        String saveId = json(Files.readString(done)).get("outcome").get("saveId").asText();
        JsonNode receipt = receiptOf(tenant, user, saveId);
        assertThat(receipt.get("origin").asText()).isEqualTo("inbox");
        assertThat(receipt.get("status").asText()).isEqualTo("applied");
    }

    @Test
    void anUnknownOrMalformedSaveIdIsAProblem() {
        String tenant = newTenant();
        UUID user = newUser();
        HttpResponse<String> unknown = receipt(tenant, user, UUID.randomUUID().toString());
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        HttpResponse<String> malformed = receipt(tenant, user, "not-a-uuid");
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(malformed.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    }
}
