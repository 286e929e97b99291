package dev.agentconfig.postgrest;

import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.junit.jupiter.api.Test;

/**
 * The save over the rest transport, request by request: what the routes send to PostgREST
 * (method, path, query, headers, body with field_versions) and what they make of its answers.
 */
class RestSaveContractTest extends RestTransportTestSupport {

    @Test
    void aSaveIsAnUpsertOnUserIdAndTheSettingsRpcWithTheContractsHeaders() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        stubUpsert(upserted("{}"));
        stubRpc(rpcDone("{}"));

        HttpResponse<String> r = checked(put(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"c_rest\"}"));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode answer = json(r);
        assertThat(answer.get("status").asText()).isEqualTo("saved");
        assertThat(answer.get("targets").get("user_profiles").asText()).isEqualTo("saved");
        assertThat(answer.get("targets").get("user_settings").asText()).isEqualTo("saved");
        long version = answer.get("version").asLong();

        List<LoggedRequest> upserts = sent(postRequestedFor(urlPathEqualTo(UPSERT)));
        assertThat(upserts).hasSize(1);
        LoggedRequest upsert = upserts.get(0);
        assertThat(upsert.getUrl()).isEqualTo(UPSERT + "?on_conflict=user_id");
        assertWriteHeaders(upsert);
        assertThat(upsert.getHeader("Prefer")).isEqualTo("resolution=merge-duplicates,return=representation");
        JsonNode row = body(upsert);
        assertThat(row.get("user_id").asText()).isEqualTo(user.toString());
        assertThat(row.get("tenant_id").asText()).isEqualTo(tenant);
        String envelope = row.get("encrypted_retell_api_key").asText();
        assertThat(envelope).startsWith("v1:");
        assertThat(cipher().open(envelope, tenant + ":" + user + ":retellApiKey")).isEqualTo(key);
        assertThat(row.get("encrypted_agent_config").toString()).isEqualTo("{\"call_agent_id\":\"c_rest\"}");
        assertThat(row.get("field_versions").get("retellApiKey").asLong()).isEqualTo(version);
        assertThat(row.get("field_versions").get("callAgentId").asLong()).isEqualTo(version);
        assertThat(row.get("field_versions").size()).isEqualTo(2);

        List<LoggedRequest> rpcs = sent(postRequestedFor(urlPathEqualTo(RPC)));
        assertThat(rpcs).hasSize(1);
        LoggedRequest rpc = rpcs.get(0);
        assertThat(rpc.getUrl()).isEqualTo(RPC);
        assertWriteHeaders(rpc);
        assertThat(rpc.containsHeader("Prefer")).as("no Prefer: params=single-object (gone in v13)").isFalse();
        JsonNode args = body(rpc);
        assertThat(args.get("p_user_id").asText()).isEqualTo(user.toString());
        assertThat(args.get("p_tenant_id").asText()).isEqualTo(tenant);
        assertThat(args.get("p_retell_config").toString()).isEqualTo("{\"call_agent_id\":\"c_rest\"}");
        assertThat(args.get("p_encrypted_api_keys").get("retell_api_key").asText()).isEqualTo(envelope);
        assertThat(args.get("p_field_versions").get("callAgentId").asLong()).isEqualTo(version);
        assertThat(args.get("p_field_versions").get("retellApiKey").asLong()).isEqualTo(version);

        assertThat(upsert.getBodyAsString() + rpc.getBodyAsString()).doesNotContain(key);
        assertThat(localEntry(tenant, user)).isEmpty();
    }

    /**
     * A PostgREST upsert overwrites whole columns, so the per-field guard is the table's trigger;
     * what it kept comes back (return=representation, the function's result) and a field the
     * table holds at a newer version makes that target "stale", exactly as over JDBC.
     */
    @Test
    void aTargetHoldingANewerVersionAnswersStale() {
        // beyond agentconfig.save.max-clock-lead (24h): a version the clock would follow makes a fresh
        // save be written again above it (see sync/ClockBehindTest), and this stub cannot change its answer
        long future = (System.currentTimeMillis() + 48 * 3_600_000L) * 1000;
        stubUpsert(upserted("{\"callAgentId\":" + future + "}"));
        stubRpc(rpcDone("{\"smsAgentId\":" + future + "}"));

        HttpResponse<String> r = checked(put(newTenant(), newUser(), "{\"callAgentId\":\"c_old\",\"smsAgentId\":\"s_old\"}"));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("status").asText()).isEqualTo("stale");
        assertThat(json(r).get("targets").get("user_profiles").asText()).isEqualTo("stale");
        assertThat(json(r).get("targets").get("user_settings").asText()).isEqualTo("stale");
    }

    /**
     * The key is added by the HTTP client, never a message header, and the client's header and
     * wire loggers are off: even with Camel and the HTTP client at TRACE, no log line holds it.
     */
    @Test
    void theKeyStaysOutOfTheLogsEvenWithCamelAndTheHttpClientAtTrace() {
        stubUpsert(upserted("{}"));
        stubRpc(rpcDone("{}"));
        int before = logs.lines().size();
        Configurator.setLevel("org.apache.hc", Level.TRACE);
        Configurator.setLevel("org.apache.camel", Level.TRACE);
        try {
            assertThat(put(newTenant(), newUser(), "{\"callAgentId\":\"c_trace\"}").statusCode()).isEqualTo(200);
            assertThat(serviceGet("/observe/health").statusCode()).isEqualTo(200);
        } finally {
            Configurator.setLevel("org.apache.hc", Level.WARN);
            Configurator.setLevel("org.apache.camel", Level.INFO);
        }
        List<String> traced = logs.lines().subList(before, logs.lines().size());
        assertThat(traced).as("the TRACE output is there to be searched").anyMatch(l -> l.contains("/rest/v1/user_profiles"));
        assertThat(String.join("\n", traced)).doesNotContain(supabaseKey);
    }

    /** A figure, not a threshold: saves over HTTP through both PostgREST calls (the stub answers at once). */
    @Test
    void figureSaveLatencyOverTheRestTransport() {
        stubUpsert(upserted("{}"));
        stubRpc(rpcDone("{}"));
        String tenant = newTenant();
        for (int i = 0; i < 20; i++) {
            assertThat(put(tenant, newUser(), "{\"callAgentId\":\"c_warm\"}").statusCode()).isEqualTo(200);
        }
        int n = 200;
        long[] ms = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = put(tenant, newUser(), "{\"retellApiKey\":\"" + newKey() + "\",\"callAgentId\":\"c_" + i + "\"}");
            ms[i] = (System.nanoTime() - t0) / 1_000;
            assertThat(r.statusCode()).isEqualTo(200);
        }
        java.util.Arrays.sort(ms);
        System.out.printf("FIGURE rest transport save over HTTP (upsert + RPC against a local stub), %d sequential: "
                + "p50 %.1f ms, p95 %.1f ms%n", n, ms[n / 2] / 1000.0, ms[(int) (n * 0.95)] / 1000.0);
    }
}
