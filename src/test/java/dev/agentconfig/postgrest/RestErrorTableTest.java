package dev.agentconfig.postgrest;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every row of the contract's error table (shared/design/postgrest-contract.md), served by the
 * stub exactly as PostgREST sends it, and the rest of what the save can meet (our triggers'
 * AC409/AC403, other 22/23, other 5xx, a gateway's page, a dropped connection, a slow answer).
 * Each asserts the request the route sent, the failure class, the HTTP answer and the local store.
 */
class RestErrorTableTest extends RestTransportTestSupport {
    private static final String PROFILE = "user_profiles";
    private static final String SETTINGS_TABLE = "user_settings";

    /**
     * One row: which target answers it (the one its message names), PostgREST's status and body,
     * and the class the service must give it. {@code %USER%} stands for the saving user's id.
     */
    record Row(String condition, String target, int status, String code, String details, String hint, String message,
               String failureClass) {
        @Override
        public String toString() {
            return status + " " + code + " " + condition;
        }

        String path() {
            return PROFILE.equals(target) ? UPSERT : RPC;
        }

        /**
         * A transient failure is tried again in the request by the failure policy
         * (save/FailurePolicy, agentconfig.save.retry-attempts=2: two attempts in all, as with jdbc),
         * except refused credentials; nothing else is.
         */
        int expectedCalls() {
            return "transient".equals(failureClass) && !code.startsWith("PGRST3") ? 2 : 1;
        }
    }

    static Stream<Row> errorTable() {
        return Stream.of(
                // ----- the contract's table, row by row
                new Row("unique violation", PROFILE, 409, "23505", "Key (user_id)=(%USER%) already exists.", null,
                        "duplicate key value violates unique constraint \"user_profiles_pkey\"", "rejected"),
                new Row("foreign key violation", PROFILE, 409, "23503",
                        "Key (user_id)=(%USER%) is not present in table \"users\".", null,
                        "insert or update on table \"user_profiles\" violates foreign key constraint "
                                + "\"user_profiles_user_id_fkey\"", "rejected"),
                new Row("no unique constraint matches on_conflict", PROFILE, 400, "42P10", null, null,
                        "there is no unique or exclusion constraint matching the ON CONFLICT specification",
                        "schema_drift"),
                new Row("column unknown to the schema cache", SETTINGS_TABLE, 400, "PGRST204", null, null,
                        "Could not find the 'api_key_updated_at' column of 'user_settings' in the schema cache",
                        "schema_drift"),
                new Row("function unknown to the schema cache", SETTINGS_TABLE, 404, "PGRST202",
                        "Searched for the function public.update_user_api_keys with parameters p_encrypted_api_keys, "
                                + "p_field_versions, p_retell_config, p_tenant_id, p_user_id or with a single unnamed "
                                + "json/jsonb parameter, but no matches were found in the schema cache.", null,
                        "Could not find the function public.update_user_api_keys(p_user_id, p_tenant_id, "
                                + "p_retell_config, p_encrypted_api_keys, p_field_versions) in the schema cache",
                        "schema_drift"),
                new Row("table unknown to the schema cache (v13)", SETTINGS_TABLE, 404, "PGRST205", null,
                        "Perhaps you meant the table 'public.user_profiles'",
                        "Could not find the table 'public.user_settings' in the schema cache", "schema_drift"),
                new Row("undefined column", PROFILE, 400, "42703", null, null,
                        "column \"field_versions\" of relation \"user_profiles\" does not exist", "schema_drift"),
                new Row("permission / RLS, anon role", PROFILE, 401, "42501", null, null,
                        "new row violates row-level security policy for table \"user_profiles\"", "schema_drift"),
                new Row("permission / RLS, authenticated role", PROFILE, 403, "42501", null, null,
                        "new row violates row-level security policy for table \"user_profiles\"", "schema_drift"),
                new Row("JWT invalid / expired (v12, v13 decode)", PROFILE, 401, "PGRST301", null, null, "JWT expired",
                        "transient"),
                new Row("JWT claims (v13)", PROFILE, 401, "PGRST303", null, null, "JWT expired", "transient"),
                new Row("database unreachable", PROFILE, 503, "PGRST000",
                        "connection to server at \"db.internal\" (10.0.0.5), port 5432 failed: Connection refused", null,
                        "Database connection error. Retrying the connection.", "transient"),
                new Row("database unreachable", PROFILE, 503, "PGRST001", null, null,
                        "Database connection error. Retrying the connection.", "transient"),
                new Row("database unreachable", PROFILE, 503, "PGRST002", null, null,
                        "Database connection error. Retrying the connection.", "transient"),
                new Row("pool timeout", PROFILE, 504, "PGRST003", null, null,
                        "Timed out acquiring connection from connection pool.", "transient"),
                // ----- beyond the table: our triggers' SQLSTATEs (P0001-like: 400), other 22/23, other 5xx
                new Row("tenant guard (our trigger)", PROFILE, 400, "AC409", null, "a user belongs to exactly one tenant",
                        "user %USER% is registered under another tenant", "tenant_conflict"),
                new Row("settings function's ownership check", SETTINGS_TABLE, 400, "AC403", null, null,
                        "not allowed to change the settings of another user", "rejected"),
                new Row("check violation", PROFILE, 400, "23514", "Failing row contains (…).", null,
                        "new row for relation \"user_profiles\" violates check constraint \"user_profiles_tenant_check\"",
                        "rejected"),
                new Row("invalid text representation", SETTINGS_TABLE, 400, "22P02", "Token \"x\" is invalid.", null,
                        "invalid input syntax for type json", "rejected"),
                new Row("internal error", PROFILE, 500, "XX000", null, null, "could not open relation", "transient"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("errorTable")
    void errorTableRow(Row row) {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        ResponseDefinitionBuilder error = postgrestError(row.status(), row.code(), fill(row.details(), user),
                row.hint(), fill(row.message(), user));
        boolean profileFails = PROFILE.equals(row.target());
        stubUpsert(profileFails ? error : upserted("{}"));
        stubRpc(profileFails ? rpcDone("{}") : error);

        HttpResponse<String> r = checked(put(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"c_row\"}"));

        // the request: as the contract says, every attempt of it
        // (this user's: a sync pass may replay another row's parked entry meanwhile)
        List<LoggedRequest> calls = sent(postRequestedFor(urlPathEqualTo(row.path()))).stream()
                .filter(req -> req.getBodyAsString().contains(user.toString())).toList();
        assertThat(calls).as("requests to %s", row.path()).hasSize(row.expectedCalls());
        for (LoggedRequest call : calls) {
            assertWriteHeaders(call);
            JsonNode body = body(call);
            if (profileFails) {
                assertThat(call.getUrl()).isEqualTo(UPSERT + "?on_conflict=user_id");
                assertThat(call.getHeader("Prefer")).isEqualTo("resolution=merge-duplicates,return=representation");
                assertThat(body.get("user_id").asText()).isEqualTo(user.toString());
                assertThat(body.get("field_versions").get("callAgentId").isIntegralNumber()).isTrue();
                assertThat(body.get("field_versions").get("retellApiKey").isIntegralNumber()).isTrue();
            } else {
                assertThat(call.getUrl()).isEqualTo(RPC);
                assertThat(body.get("p_user_id").asText()).isEqualTo(user.toString());
                assertThat(body.get("p_field_versions").get("callAgentId").isIntegralNumber()).isTrue();
            }
            assertThat(call.getBodyAsString()).doesNotContain(key);
        }

        if (row.failureClass().equals("tenant_conflict")) {
            // 409, and nothing written anywhere: not user_settings, not the local store
            assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
            assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            assertThat(json(r).get("type").asText()).endsWith("tenant-conflict");
            assertThat(sent(postRequestedFor(urlPathEqualTo(RPC))))
                    .filteredOn(req -> req.getBodyAsString().contains(user.toString())).isEmpty();
            assertThat(localEntry(tenant, user)).isEmpty();
            return;
        }

        boolean quarantined = row.failureClass().equals("rejected");
        String targetState = quarantined ? "quarantined" : "queued";
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        JsonNode answer = json(r);
        assertThat(answer.get("status").asText()).isEqualTo(targetState);
        assertThat(answer.get("targets").get(row.target()).asText()).isEqualTo(targetState);
        String other = profileFails ? SETTINGS_TABLE : PROFILE;
        assertThat(answer.get("targets").get(other).asText()).isEqualTo("saved");
        assertThat(answer.get("error").get("class").asText()).isEqualTo(row.failureClass());
        assertThat(answer.get("error").get("code").asText()).isEqualTo(row.code());
        assertThat(answer.get("error").get("message").asText()).isEqualTo(fill(row.message(), user));

        JsonNode entry = localEntry(tenant, user).orElseThrow();
        assertThat(entry.get("state").asText()).isEqualTo(quarantined ? "quarantined" : "pending");
        assertThat(entry.get("pendingTargets").toString()).isEqualTo("[\"" + row.target() + "\"]");
        assertThat(entry.get("lastError").get("failureClass").asText()).isEqualTo(row.failureClass());
        assertThat(entry.get("lastError").get("code").asText()).isEqualTo(row.code());
        assertThat(entry.get("lastError").get("target").asText()).isEqualTo(row.target());
        assertThat(entry.get("fields").get("callAgentId").get("value").asText()).isEqualTo("c_row");
        assertThat(entry.get("fields").get("callAgentId").get("version").asLong())
                .isEqualTo(answer.get("version").asLong());
        assertThat(entry.get("fields").get("retellApiKey").get("value").asText()).startsWith("v1:");
        assertThat(entry.toString()).doesNotContain(key).doesNotContain(supabaseKey);
    }

    // ----- what is not PostgREST's JSON ----------------------------------------------------------------

    @Test
    void aGatewaysErrorPageIsTransientByItsStatus() {
        assertQueuedByFailure(aResponse().withStatus(502).withHeader("Content-Type", "text/html")
                .withBody("<html><body><h1>502 Bad Gateway</h1></body></html>"), "http-502", 2);
    }

    @Test
    void aDroppedConnectionIsTransient() {
        assertQueuedByFailure(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER), "io", 2);
    }

    @Test
    void aSlowPostgrestIsCutAtTheTimeoutAndNotRetriedInTheRequest() {
        // agentconfig.supabase.timeout is 1000 ms in these tests
        long t0 = System.nanoTime();
        assertQueuedByFailure(upserted("{}").withFixedDelay(2500), "timeout", 1);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("FIGURE rest save against a PostgREST slower than the timeout (1000 ms): answered in " + ms + " ms");
    }

    private void assertQueuedByFailure(ResponseDefinitionBuilder profileAnswer, String code, int calls) {
        String tenant = newTenant();
        UUID user = newUser();
        stubUpsert(profileAnswer);
        stubRpc(rpcDone("{}"));

        HttpResponse<String> r = checked(put(tenant, user, "{\"smsAgentId\":\"s_gw\"}"));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        assertThat(json(r).get("targets").get(PROFILE).asText()).isEqualTo("queued");
        assertThat(json(r).get("error").get("class").asText()).isEqualTo("transient");
        assertThat(json(r).get("error").get("code").asText()).isEqualTo(code);
        // this user's requests only: a sync pass may replay another test's entry meanwhile
        assertThat(sent(postRequestedFor(urlPathEqualTo(UPSERT))))
                .filteredOn(req -> req.getBodyAsString().contains(user.toString())).hasSize(calls);
        JsonNode entry = localEntry(tenant, user).orElseThrow();
        assertThat(entry.get("state").asText()).isEqualTo("pending");
        assertThat(entry.get("lastError").get("code").asText()).isEqualTo(code);
        assertThat(entry.get("pendingTargets").toString()).isEqualTo("[\"user_profiles\"]");
    }

    private static String fill(String text, UUID user) {
        return text == null ? null : text.replace("%USER%", user.toString());
    }
}
