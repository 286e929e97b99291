package dev.agentconfig.postgrest;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;

import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.client.WireMock;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import dev.agentconfig.crypto.FieldCipher;
import org.junit.jupiter.api.Test;

/**
 * The sync and the read path over the rest transport: a save queued while PostgREST has no
 * database is drained by POST /api/v1/sync once it answers again; a read merges PostgREST's
 * user_profiles and user_settings rows with the local store per field; a legacy plaintext key is
 * sealed into the next save.
 */
class RestSyncAndReadTest extends RestTransportTestSupport {
    private static final String OUTAGE = "Database connection error. Retrying the connection.";

    /** Every PostgREST request answers 503 PGRST001, as PostgREST does while its database is gone. */
    private void postgrestWithoutDatabase() {
        stub.stubFor(WireMock.any(urlPathMatching("/rest/v1/.*")).atPriority(1)
                .willReturn(postgrestError(503, "PGRST001", null, null, OUTAGE)));
    }

    @Test
    void aSaveQueuedDuringAnOutageIsDrainedByTheSyncOncePostgrestAnswers() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        postgrestWithoutDatabase();

        HttpResponse<String> r = checked(put(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"smsAgentId\":\"s_out\"}"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        assertThat(json(r).get("targets").toString()).isEqualTo("{\"user_profiles\":\"queued\",\"user_settings\":\"queued\"}");
        assertThat(json(r).get("error").get("code").asText()).isEqualTo("PGRST001");
        long version = json(r).get("version").asLong();
        JsonNode entry = localEntry(tenant, user).orElseThrow();
        assertThat(entry.get("pendingTargets").toString()).contains("user_profiles", "user_settings");

        // still out: the pass is skipped (PostgREST answers, its database does not), nothing charged
        JsonNode skipped = json(checked(postSync()));
        assertThat(skipped.get("status").asText()).isEqualTo("skipped");
        assertThat(skipped.get("reason").asText()).isEqualTo("database-unreachable");
        assertThat(localEntry(tenant, user).orElseThrow().get("attempts").asInt()).isEqualTo(1);

        // back: 201 / 200
        stub.resetAll();
        healthyPostgrest();
        stubUpsert(upserted("{}"));
        stubRpc(rpcDone("{}"));
        HttpResponse<String> pass = checked(postSync());
        assertThat(pass.statusCode()).isEqualTo(202);
        // (entries other tests of this class left pending drain too)
        assertThat(json(pass).get("drained").asInt()).as(pass.body()).isGreaterThanOrEqualTo(1);
        assertThat(localEntry(tenant, user)).isEmpty();

        // the replay: the entry's fields at the versions they were saved with, the key as its envelope
        LoggedRequest upsert = ofUser(sent(postRequestedFor(urlPathEqualTo(UPSERT))), "user_id", user);
        assertWriteHeaders(upsert);
        assertThat(upsert.getUrl()).isEqualTo(UPSERT + "?on_conflict=user_id");
        JsonNode row = body(upsert);
        assertThat(row.get("field_versions").get("smsAgentId").asLong()).isEqualTo(version);
        assertThat(row.get("field_versions").get("retellApiKey").asLong()).isEqualTo(version);
        assertThat(row.get("encrypted_agent_config").toString()).isEqualTo("{\"sms_agent_id\":\"s_out\"}");
        assertThat(cipher().open(row.get("encrypted_retell_api_key").asText(), tenant + ":" + user + ":retellApiKey"))
                .isEqualTo(key);
        JsonNode args = body(ofUser(sent(postRequestedFor(urlPathEqualTo(RPC))), "p_user_id", user));
        assertThat(args.get("p_field_versions").get("smsAgentId").asLong()).isEqualTo(version);
        assertThat(args.get("p_retell_config").toString()).isEqualTo("{\"sms_agent_id\":\"s_out\"}");
        assertThat(upsert.getBodyAsString()).doesNotContain(key);
    }

    @Test
    void aReadMergesPostgrestsRowsWithTheLocalStorePerField() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        FieldCipher cipher = cipher();
        long minuteAgo = (System.currentTimeMillis() - 60_000) * 1000;
        String envelope = cipher.seal(key, tenant + ":" + user + ":retellApiKey");
        String profileRow = "[{\"encrypted_retell_api_key\":\"" + envelope + "\","
                + "\"encrypted_agent_config\":{\"call_agent_id\":\"c_profile\",\"sms_agent_id\":\"s_profile\"},"
                + "\"field_versions\":{\"retellApiKey\":" + minuteAgo + ",\"callAgentId\":" + (minuteAgo + 2)
                + ",\"smsAgentId\":" + minuteAgo + "},\"updated_at\":\"2026-11-26T11:52:44.39347+00:00\"}]";
        String settingsRow = "[{\"retell_config\":{\"call_agent_id\":\"c_settings\",\"sms_agent_id\":\"s_settings\"},"
                + "\"encrypted_api_keys\":{\"retell_api_key\":\"" + envelope + "\"},"
                + "\"field_versions\":{\"retellApiKey\":" + minuteAgo + ",\"callAgentId\":" + (minuteAgo + 1)
                + ",\"smsAgentId\":" + (minuteAgo + 1) + "},\"api_key_updated_at\":\"2026-11-26T11:52:44+00:00\","
                + "\"updated_at\":\"2026-11-26T11:52:45.1+00:00\"}]";
        stub.stubFor(get(urlPathEqualTo(UPSERT)).withQueryParam("user_id", equalTo("eq." + user))
                .willReturn(rows(profileRow)));
        stub.stubFor(get(urlPathEqualTo(SETTINGS)).withQueryParam("user_id", equalTo("eq." + user))
                .withQueryParam("select", equalTo(PostgrestPayloads.SETTINGS_COLUMNS)).willReturn(rows(settingsRow)));
        // a newer smsAgentId waits in the local store (PostgREST has no database when it is saved)
        postgrestWithoutDatabase();
        assertThat(put(tenant, user, "{\"smsAgentId\":\"s_local\"}").statusCode()).isEqualTo(202);
        stub.removeStub(stub.getStubMappings().stream().filter(m -> m.getPriority() != null && m.getPriority() == 1)
                .findFirst().orElseThrow());
        stub.resetRequests();

        HttpResponse<String> r = checked(serviceGet("/api/v1/agent-config/" + tenant + "/" + user));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode view = json(r);
        assertThat(view.get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(key));
        assertThat(view.get("callAgentId").asText()).isEqualTo("c_profile");
        assertThat(view.get("smsAgentId").asText()).isEqualTo("s_local");
        assertThat(view.get("fields").get("retellApiKey").get("source").asText()).isEqualTo("user_profiles");
        assertThat(view.get("fields").get("callAgentId").get("source").asText()).isEqualTo("user_profiles");
        assertThat(view.get("fields").get("callAgentId").get("version").asLong()).isEqualTo(minuteAgo + 2);
        assertThat(view.get("fields").get("smsAgentId").get("source").asText()).isEqualTo("local_store");
        assertThat(view.get("sync").get("state").asText()).isEqualTo("pending");
        for (String source : List.of("user_profiles", "user_settings", "local_store")) {
            assertThat(view.get("sources").get(source).get("status").asText()).as(source).isEqualTo("ok");
        }
        assertThat(r.body()).doesNotContain(key).doesNotContain(envelope);

        // the two GETs: the user AND the tenant, the columns, Accept-Profile (the breaker probe's own GETs,
        // select=user_id&limit=0, come and go beside them)
        LoggedRequest profiles = sent(getRequestedFor(urlPathEqualTo(UPSERT))
                .withQueryParam("user_id", equalTo("eq." + user))).get(0);
        assertReadHeaders(profiles);
        assertThat(profiles.getUrl()).isEqualTo(UPSERT + "?user_id=eq." + user + "&tenant_id=eq." + tenant
                + "&select=encrypted_retell_api_key,encrypted_agent_config,field_versions,updated_at");
        LoggedRequest settings = sent(getRequestedFor(urlPathEqualTo(SETTINGS))
                .withQueryParam("user_id", equalTo("eq." + user))).get(0);
        assertReadHeaders(settings);
        assertThat(settings.getUrl()).isEqualTo(SETTINGS + "?user_id=eq." + user + "&tenant_id=eq." + tenant
                + "&select=retell_config,encrypted_api_keys,field_versions,api_key_updated_at,updated_at");
    }

    @Test
    void aLocationPostgrestCannotServeIsReportedAndTheReadAnswersFromTheOthers() {
        String tenant = newTenant();
        UUID user = newUser();
        long now = Instant.now().toEpochMilli() * 1000;
        stub.stubFor(get(urlPathEqualTo(UPSERT)).withQueryParam("user_id", equalTo("eq." + user))
                .willReturn(postgrestError(400, "42703", null, null,
                        "column user_profiles.encrypted_agent_config does not exist")));
        stub.stubFor(get(urlPathEqualTo(SETTINGS)).withQueryParam("user_id", equalTo("eq." + user))
                .willReturn(rows("[{\"retell_config\":{\"call_agent_id\":\"c_s\"},\"encrypted_api_keys\":{},"
                        + "\"field_versions\":{\"callAgentId\":" + now + "},\"api_key_updated_at\":null,"
                        + "\"updated_at\":\"2026-11-26T11:52:45+00:00\"}]")));

        HttpResponse<String> r = checked(serviceGet("/api/v1/agent-config/" + tenant + "/" + user));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode view = json(r);
        assertThat(view.get("callAgentId").asText()).isEqualTo("c_s");
        JsonNode profiles = view.get("sources").get("user_profiles");
        assertThat(profiles.get("status").asText()).isEqualTo("error");
        assertThat(profiles.toString()).contains("schema_drift").contains("42703");
        assertThat(view.get("sources").get("local_store").get("status").asText()).isEqualTo("empty");
    }

    @Test
    void aLegacyPlaintextKeyReportedByTheSettingsFunctionIsSealedAndSaved() {
        String tenant = newTenant();
        UUID user = newUser();
        String legacy = newKey();
        stubUpsert(upserted("{}"));
        // the function reports the seed's plaintext key once (V3); after the adoption it is gone
        stub.stubFor(post(urlPathEqualTo(RPC)).inScenario("legacy").whenScenarioStateIs(STARTED)
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json; charset=utf-8")
                        .withBody("{\"success\":true,\"field_versions\":{},\"legacy_api_key\":\"" + legacy + "\"}"))
                .willSetStateTo("adopted"));
        stub.stubFor(post(urlPathEqualTo(RPC)).inScenario("legacy").whenScenarioStateIs("adopted").willReturn(rpcDone("{}")));

        HttpResponse<String> r = checked(put(tenant, user, "{\"callAgentId\":\"c_new\"}"));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        long version = json(r).get("version").asLong();
        // no lookup request for this user: the report rode on the settings call's answer (the sync's schema
        // check, a select with limit=0, may pass meanwhile)
        assertThat(sent(getRequestedFor(urlPathEqualTo(SETTINGS))))
                .filteredOn(q -> q.getUrl().contains(user.toString())).isEmpty();
        // this user's requests (an entry another test parked may drain meanwhile: the sync starts a pass
        // the moment PostgREST answers again)
        List<LoggedRequest> upserts = sent(postRequestedFor(urlPathEqualTo(UPSERT))).stream()
                .filter(q -> body(q).get("user_id").asText().equals(user.toString())).toList();
        List<LoggedRequest> rpcs = sent(postRequestedFor(urlPathEqualTo(RPC))).stream()
                .filter(q -> body(q).get("p_user_id").asText().equals(user.toString())).toList();
        assertThat(upserts).hasSize(2);
        assertThat(rpcs).hasSize(2);
        JsonNode keyRow = body(upserts.get(1));
        assertThat(cipher().open(keyRow.get("encrypted_retell_api_key").asText(), tenant + ":" + user + ":retellApiKey"))
                .isEqualTo(legacy);
        assertThat(keyRow.get("field_versions").get("retellApiKey").asLong()).isEqualTo(version);
        JsonNode args = body(rpcs.get(1));
        assertThat(cipher().open(args.get("p_encrypted_api_keys").get("retell_api_key").asText(),
                tenant + ":" + user + ":retellApiKey")).isEqualTo(legacy);
        for (LoggedRequest sentRequest : stub.findAll(com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor(
                com.github.tomakehurst.wiremock.client.WireMock.anyUrl()))) {
            assertThat(sentRequest.getBodyAsString().contains(legacy)).as("plaintext sent to PostgREST").isFalse();
        }
    }

    private static LoggedRequest ofUser(List<LoggedRequest> requests, String field, UUID user) {
        List<LoggedRequest> mine = requests.stream().filter(r -> body(r).get(field).asText().equals(user.toString())).toList();
        assertThat(mine).hasSize(1);
        return mine.get(0);
    }
}
