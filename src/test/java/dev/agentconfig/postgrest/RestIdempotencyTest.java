package dev.agentconfig.postgrest;

import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import dev.agentconfig.json.Json;
import org.junit.jupiter.api.Test;

/**
 * Idempotency-Keys over the rest transport: a keyed save asks PostgREST for the key first (RPC
 * save_idempotency_find of migration V6) and records it after its targets (RPC save_idempotency_record), with a
 * fingerprint that is never the content; a key the database already holds (as after a restart of the service)
 * gets that save's saveId and version back.
 */
class RestIdempotencyTest extends RestTransportTestSupport {
    private static final String FIND = "/rest/v1/rpc/save_idempotency_find";
    private static final String RECORD = "/rest/v1/rpc/save_idempotency_record";

    @Test
    void aKeyedSaveIsLookedUpThenRecordedWithAFingerprintOnly() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        stubUpsert(upserted("{}"));
        stubRpc(rpcDone("{}"));
        stub.stubFor(post(urlPathEqualTo(FIND)).willReturn(rows("null")));
        stub.stubFor(post(urlPathEqualTo(RECORD)).willReturn(rows("null")));

        HttpResponse<String> r = putWithKey(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"c_agent_rest_1\"}", "k-rest-1");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<LoggedRequest> finds = sent(postRequestedFor(urlPathEqualTo(FIND)));
        assertThat(finds).hasSize(1);
        assertWriteHeaders(finds.get(0));
        assertThat(body(finds.get(0)).get("p_key").asText()).isEqualTo("k-rest-1");
        assertThat(body(finds.get(0)).get("p_user_id").asText()).isEqualTo(user.toString());
        List<LoggedRequest> records = sent(postRequestedFor(urlPathEqualTo(RECORD)));
        assertThat(records).hasSize(1);
        JsonNode args = body(records.get(0));
        assertThat(args.get("p_tenant_id").asText()).isEqualTo(tenant);
        assertThat(args.get("p_key").asText()).isEqualTo("k-rest-1");
        assertThat(args.get("p_save_id").asText()).isEqualTo(json(r).get("saveId").asText());
        assertThat(args.get("p_version").asLong()).isEqualTo(json(r).get("version").asLong());
        assertThat(args.get("p_per_user").asInt()).isEqualTo(1000);
        assertThat(args.get("p_fingerprint").asText()).matches("[0-9a-f]{8}:[A-Za-z0-9_-]{43}");
        assertThat(records.get(0).getBodyAsString()).doesNotContain(key).doesNotContain("c_agent_rest_1");
    }

    @Test
    void aKeyTheDatabaseHoldsGetsTheFirstSavesAnswer() {
        String tenant = newTenant();
        UUID user = newUser();
        stubUpsert(upserted("{}"));
        stubRpc(rpcDone("{}"));
        UUID firstSaveId = UUID.randomUUID();
        long firstVersion = 1_700_000_000_000_000L;
        ObjectNode held = Json.MAPPER.createObjectNode();
        held.put("idempotency_key", "k-rest-2");
        held.put("fingerprint", cipher().fingerprint("callAgentId=c_first\n".getBytes(StandardCharsets.UTF_8)));
        held.put("save_id", firstSaveId.toString());
        held.put("version", firstVersion);
        held.put("created_at", Instant.now().minusSeconds(60).toString());
        stub.stubFor(post(urlPathEqualTo(FIND)).withRequestBody(matchingJsonPath("$.p_key", equalTo("k-rest-2")))
                .willReturn(rows(held.toString())));
        stub.stubFor(post(urlPathEqualTo(RECORD)).willReturn(rows(held.toString())));

        HttpResponse<String> retry = putWithKey(tenant, user, "{\"callAgentId\":\"c_first\"}", "k-rest-2");

        assertThat(retry.statusCode()).as(retry.body()).isEqualTo(200);
        assertThat(json(retry).get("saveId").asText()).isEqualTo(firstSaveId.toString());
        assertThat(json(retry).get("version").asLong()).isEqualTo(firstVersion);
        // the upsert carried the first save's version: the table's guard keeps whatever is newer
        LoggedRequest upsert = sent(postRequestedFor(urlPathEqualTo(UPSERT))).get(0);
        assertThat(body(upsert).get("field_versions").get("callAgentId").asLong()).isEqualTo(firstVersion);

        HttpResponse<String> other = putWithKey(tenant, user, "{\"callAgentId\":\"c_other\"}", "k-rest-2");
        assertThat(other.statusCode()).as(other.body()).isEqualTo(409);
    }

    private HttpResponse<String> putWithKey(String tenant, UUID user, String json, String idempotencyKey) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + serviceToken)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", idempotencyKey)
                .PUT(HttpRequest.BodyPublishers.ofString(json)));
    }
}
