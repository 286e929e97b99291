package dev.agentconfig.postgrest;

import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.client.WireMock;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Without a direct database the rest transport has no JDBC at all: health, the breaker probe and
 * the audit trail work over PostgREST, and nothing local but the local store exists.
 */
class RestHealthTest extends RestTransportTestSupport {

    @Test
    void noEmbeddedDatabaseIsStartedAndNoJdbcBeanExists() {
        assertThat(context.getRegistry().lookupByName("dataSource")).isNull();
        assertThat(context.getRegistry().lookupByName("database")).isNull();
        assertThat(Files.exists(dataDir.resolve("pg"))).isFalse();
        assertThat(context.getRoutes()).extracting(r -> r.getRouteId()).contains("postgrest-call");
        // the tables are written and read over PostgREST, never through a pool
        assertThat(context.getRegistry().lookupByName("transportWrites")).isInstanceOf(PostgrestTargetWrites.class);
        assertThat(context.getRegistry().lookupByName("targetReads")).isInstanceOf(PostgrestReads.class);
    }

    @Test
    void healthIsUpWhenPostgrestAnswersAndKnowsEveryTableAndColumn() {
        HttpResponse<String> r = checked(serviceGet("/observe/health"));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode checks = json(r).get("checks");
        assertThat(checks.get("postgrest").get("status").asText()).isEqualTo("UP");
        assertThat(checks.get("schema").get("status").asText()).isEqualTo("UP");
        assertThat(checks.has("database")).isFalse();
        assertThat(checks.has("directDatabase")).isFalse();
        assertThat(json(r).get("acceptingSaves").asBoolean()).isTrue();
        LoggedRequest probe = sent(getRequestedFor(urlPathEqualTo(UPSERT))
                .withQueryParam("select", equalTo("user_id"))).get(0);
        assertThat(probe.getUrl()).isEqualTo(UPSERT + "?select=user_id&limit=0");
        assertReadHeaders(probe);
        LoggedRequest columns = sent(getRequestedFor(urlPathEqualTo(SETTINGS))).get(0);
        assertThat(columns.getUrl()).isEqualTo(SETTINGS + "?select=user_id,tenant_id,retell_config,encrypted_api_keys,"
                + "field_versions,api_key_updated_at,updated_at&limit=0");
    }

    @Test
    void aColumnTheDatabaseLacksIsNamedByHealth() {
        stub.stubFor(get(urlPathEqualTo(SETTINGS)).withQueryParam("select", containing("api_key_updated_at"))
                .willReturn(postgrestError(400, "42703", null, null,
                        "column user_settings.api_key_updated_at does not exist")));

        HttpResponse<String> r = checked(serviceGet("/observe/health"));

        assertThat(r.statusCode()).isEqualTo(503);
        JsonNode schema = json(r).get("checks").get("schema");
        assertThat(schema.get("status").asText()).isEqualTo("DOWN");
        assertThat(schema.get("missing").toString()).contains("column public.user_settings.api_key_updated_at");
        assertThat(json(r).get("checks").get("postgrest").get("status").asText()).isEqualTo("UP");
    }

    @Test
    void aRefusedKeyIsAnOperatorProblemSavesAreQueuedNotQuarantined() {
        stub.stubFor(WireMock.any(urlPathMatching("/rest/v1/.*")).atPriority(1)
                .willReturn(postgrestError(401, "PGRST301", null, null, "JWT expired")));
        String tenant = newTenant();
        UUID user = newUser();

        HttpResponse<String> health = checked(serviceGet("/observe/health"));
        assertThat(health.statusCode()).isEqualTo(503);
        JsonNode postgrest = json(health).get("checks").get("postgrest");
        assertThat(postgrest.get("status").asText()).isEqualTo("DOWN");
        assertThat(postgrest.get("detail").asText()).contains("the Supabase key was refused").contains("PGRST301")
                .contains("AGENTCONFIG_SUPABASE_KEY");
        assertThat(json(health).get("acceptingSaves").asBoolean()).as("the local store takes them").isTrue();

        HttpResponse<String> r = checked(put(tenant, user, "{\"callAgentId\":\"c_key\"}"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        assertThat(json(r).get("status").asText()).isEqualTo("queued");
        assertThat(json(r).get("error").get("class").asText()).isEqualTo("transient");
        assertThat(localEntry(tenant, user).orElseThrow().get("state").asText()).isEqualTo("pending");
        // a wrong key is not right 20 ms later: no in-request retry
        assertThat(sent(postRequestedFor(urlPathEqualTo(UPSERT))))
                .filteredOn(req -> req.getBodyAsString().contains(user.toString())).hasSize(1);
        // and the sync does not spend attempts on it: PostgREST refuses the probe
        assertThat(json(checked(postSync())).get("reason").asText()).isEqualTo("database-unreachable");
    }

    @Test
    void auditRowsArePostedToAuditLog() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        stubUpsert(upserted("{}"));
        stubRpc(rpcDone("{}"));

        assertThat(put(tenant, user, "{\"retellApiKey\":\"" + key + "\"}").statusCode()).isEqualTo(200);

        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> sent(postRequestedFor(urlPathEqualTo(AUDIT)))
                .stream().anyMatch(r -> r.getBodyAsString().contains(user.toString())));
        LoggedRequest audit = sent(postRequestedFor(urlPathEqualTo(AUDIT))).stream()
                .filter(r -> r.getBodyAsString().contains(user.toString())).findFirst().orElseThrow();
        assertWriteHeaders(audit);
        assertThat(audit.getHeader("Prefer")).isEqualTo("return=minimal");
        // a batch may carry rows of earlier saves too (written once PostgREST took them)
        JsonNode row = null;
        for (JsonNode candidate : body(audit)) {
            if (candidate.get("user_id").asText().equals(user.toString())) {
                row = candidate;
            }
        }
        assertThat(row).isNotNull();
        assertThat(row.get("event").asText()).isEqualTo("save");
        assertThat(row.get("tenant_id").asText()).isEqualTo(tenant);
        assertThat(row.get("user_id").asText()).isEqualTo(user.toString());
        assertThat(row.get("success").asBoolean()).isTrue();
        assertThat(row.get("details").get("status").asText()).isEqualTo("saved");
        assertThat(audit.getBodyAsString()).doesNotContain(key).doesNotContain("v1:");
    }

    @Test
    void duringAnOutageTheBreakerOpensAndTheProbeOverPostgrestClosesIt() {
        stub.stubFor(WireMock.any(urlPathMatching("/rest/v1/.*")).atPriority(1)
                .willReturn(postgrestError(503, "PGRST000", null, null,
                        "Database connection error. Retrying the connection.")));
        String tenant = newTenant();
        CircuitBreaker profile = breaker("profileBreaker");

        for (int i = 0; i < 4 && profile.getState() == CircuitBreaker.State.CLOSED; i++) {
            assertThat(put(tenant, newUser(), "{\"callAgentId\":\"c_" + i + "\"}").statusCode()).isEqualTo(202);
        }
        assertThat(profile.getState()).isIn(CircuitBreaker.State.OPEN, CircuitBreaker.State.FORCED_OPEN);
        int before = sent(postRequestedFor(urlPathEqualTo(UPSERT))).size();
        HttpResponse<String> open = checked(put(tenant, newUser(), "{\"callAgentId\":\"c_open\"}"));
        assertThat(json(open).get("error").get("code").asText()).isEqualTo("circuit-open");
        assertThat(sent(postRequestedFor(urlPathEqualTo(UPSERT)))).as("an open breaker does not call").hasSize(before);

        // PostgREST has its database again: the probe (a one-row GET, every 200 ms here) closes the breaker
        stub.resetAll();
        healthyPostgrest();
        stubUpsert(upserted("{}"));
        stubRpc(rpcDone("{}"));
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> profile.getState() == CircuitBreaker.State.CLOSED);
        assertThat(put(tenant, newUser(), "{\"callAgentId\":\"c_back\"}").statusCode()).isEqualTo(200);
    }

    @Test
    void postgrestRequestsAreMeasured() {
        stubUpsert(upserted("{}"));
        stubRpc(rpcDone("{}"));
        assertThat(put(newTenant(), newUser(), "{\"smsAgentId\":\"s_m\"}").statusCode()).isEqualTo(200);

        HttpResponse<String> metrics = checked(serviceGet("/observe/metrics"));

        assertThat(metrics.statusCode()).isEqualTo(200);
        List<String> lines = metrics.body().lines().filter(l -> l.startsWith("agentconfig_postgrest_request_seconds_count"))
                .toList();
        assertThat(lines).anyMatch(l -> l.contains("resource=\"user_profiles\"") && l.contains("status=\"201\""));
        assertThat(lines).anyMatch(l -> l.contains("resource=\"rpc/update_user_api_keys\"") && l.contains("status=\"200\""));
    }
}
