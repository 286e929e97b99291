package dev.agentconfig.save;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every failure class produced for real against the embedded PostgreSQL: stopped, slow,
 * missing a column or the function, refusing the data, the user under another tenant, and the
 * local store itself unwritable.
 */
class SaveFailureTest extends ServiceTestSupport {

    @BeforeEach
    void healthy() {
        if (!embedded().running()) {
            startDatabase();
        }
        resetBreakers();
    }

    @Test
    void databaseStoppedQueuesTheSaveWithTheKeyEncrypted() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        stopDatabase();
        try {
            HttpResponse<String> r = put(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"c_down\"}");

            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            JsonNode answer = json(r);
            assertThat(answer.get("status").asText()).isEqualTo("queued");
            assertThat(answer.get("targets").get("user_profiles").asText()).isEqualTo("queued");
            assertThat(answer.get("targets").get("user_settings").asText()).isEqualTo("queued");
            assertThat(answer.get("error").get("class").asText()).isEqualTo("transient");

            JsonNode entry = localEntry(tenant, user).orElseThrow();
            assertThat(entry.get("state").asText()).isEqualTo("pending");
            assertThat(entry.get("pendingTargets").toString()).contains("user_profiles", "user_settings");
            assertThat(entry.get("lastError").get("failureClass").asText()).isEqualTo("transient");
            assertThat(entry.get("attempts").asInt()).isEqualTo(1);
            String envelope = entry.get("fields").get("retellApiKey").get("value").asText();
            assertThat(envelope).startsWith("v1:");
            assertThat(cipher().open(envelope, tenant + ":" + user + ":retellApiKey")).isEqualTo(key);
            assertThat(entry.get("fields").get("callAgentId").get("value").asText()).isEqualTo("c_down");
            assertThat(entry.get("fields").get("callAgentId").get("version").asLong())
                    .isEqualTo(answer.get("version").asLong());

            Path file = localFile(tenant, user);
            assertThat(Files.getPosixFilePermissions(file)).extracting(Object::toString)
                    .containsExactlyInAnyOrder("OWNER_READ", "OWNER_WRITE");
            assertThat(Files.getPosixFilePermissions(file.getParent())).hasSize(3);
            assertThat(Files.getPosixFilePermissions(dataDir.resolve("local-store"))).hasSize(3);
            try (var listing = Files.list(file.getParent())) {
                assertThat(listing.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
            }
        } finally {
            startDatabase();
        }
        assertNotInDataDir(key);
        assertThat(logs.text()).doesNotContain(key);
    }

    @Test
    void aDroppedColumnIsSchemaDriftAndQueues() {
        String tenant = newTenant();
        UUID user = newUser();
        execute("ALTER TABLE public.user_settings DROP COLUMN api_key_updated_at");
        try {
            HttpResponse<String> r = put(tenant, user, "{\"retellApiKey\":\"" + newKey() + "\",\"smsAgentId\":\"s_drift\"}");

            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            JsonNode answer = json(r);
            assertThat(answer.get("targets").get("user_profiles").asText()).isEqualTo("saved");
            assertThat(answer.get("targets").get("user_settings").asText()).isEqualTo("queued");
            assertThat(answer.get("error").get("class").asText()).isEqualTo("schema_drift");
            assertThat(answer.get("error").get("code").asText()).isEqualTo("42703");
            assertThat(answer.get("error").get("message").asText()).contains("api_key_updated_at");
            JsonNode entry = localEntry(tenant, user).orElseThrow();
            assertThat(entry.get("pendingTargets").toString()).contains("user_settings").doesNotContain("user_profiles");
            assertThat(entry.get("lastError").get("code").asText()).isEqualTo("42703");
            assertThat(profileRow(user)).isPresent();
            assertThat(settingsRow(user)).isEmpty();
        } finally {
            execute("ALTER TABLE public.user_settings ADD COLUMN IF NOT EXISTS api_key_updated_at timestamptz");
        }
    }

    @Test
    void aMissingFunctionIsSchemaDriftAndQueues() {
        String tenant = newTenant();
        UUID user = newUser();
        execute("ALTER FUNCTION public.update_user_api_keys(uuid, text, jsonb, jsonb, jsonb) RENAME TO update_user_api_keys_gone");
        try {
            HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"c_nofn\"}");

            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            assertThat(json(r).get("error").get("class").asText()).isEqualTo("schema_drift");
            assertThat(json(r).get("error").get("code").asText()).isEqualTo("42883");
            assertThat(localEntry(tenant, user).orElseThrow().get("pendingTargets").toString()).contains("user_settings");
        } finally {
            execute("ALTER FUNCTION public.update_user_api_keys_gone(uuid, text, jsonb, jsonb, jsonb) RENAME TO update_user_api_keys");
        }
    }

    @Test
    void aSlowDatabaseTimesOutAndQueuesInsteadOfHolding() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"callAgentId\":\"c_before\"}").statusCode()).isEqualTo(200);
        // every upsert of this user's profile row the database sees is counted: a BEFORE INSERT trigger (it fires
        // before the conflicting row's lock is waited for) takes a number from a sequence, which a rollback or a
        // statement timeout does not give back
        String sequence = "test_profile_attempts_" + user.toString().replace("-", "");
        execute("CREATE SEQUENCE public." + sequence);
        execute("CREATE FUNCTION public." + sequence + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                + "IF NEW.user_id = '" + user + "' THEN PERFORM nextval('public." + sequence + "'); END IF; "
                + "RETURN NEW; END $$");
        execute("CREATE TRIGGER " + sequence + " BEFORE INSERT ON public.user_profiles FOR EACH ROW "
                + "EXECUTE FUNCTION public." + sequence + "()");
        // another session holds the row: the upsert waits until the statement timeout (1.5 s here)
        try (Connection blocker = dataSource().getConnection()) {
            blocker.setAutoCommit(false);
            try (PreparedStatement ps = blocker.prepareStatement(
                    "SELECT 1 FROM public.user_profiles WHERE user_id = ? FOR UPDATE")) {
                ps.setObject(1, user);
                ps.executeQuery();
            }
            HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"c_slow\"}");
            blocker.rollback();

            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            assertThat(json(r).get("targets").get("user_profiles").asText()).isEqualTo("queued");
            assertThat(json(r).get("error").get("code").asText()).isEqualTo("57014");
            // not retried in the request: the database saw exactly one attempt (one statement timeout)
            assertThat(attempts(sequence)).as("upserts of the profile row the database saw").isEqualTo(1);
        } finally {
            execute("DROP TRIGGER " + sequence + " ON public.user_profiles");
            execute("DROP FUNCTION public." + sequence + "()");
            execute("DROP SEQUENCE public." + sequence);
        }
        assertThat(localEntry(tenant, user).orElseThrow().get("fields").get("callAgentId").get("value").asText())
                .isEqualTo("c_slow");
    }

    /** How many numbers the sequence gave out (0 before its first nextval). */
    private long attempts(String sequence) {
        Map<String, Object> row = query("SELECT last_value, is_called FROM public." + sequence).get(0);
        return Boolean.TRUE.equals(row.get("is_called")) ? ((Number) row.get("last_value")).longValue() : 0;
    }

    @Test
    void dataTheDatabaseRefusesIsQuarantined() {
        String tenant = newTenant();
        UUID user = newUser();
        execute("ALTER TABLE public.user_profiles ADD CONSTRAINT test_refuse CHECK "
                + "(encrypted_agent_config ->> 'call_agent_id' IS DISTINCT FROM 'refused_value')");
        try {
            HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"refused_value\"}");

            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            JsonNode answer = json(r);
            assertThat(answer.get("status").asText()).isEqualTo("quarantined");
            assertThat(answer.get("targets").get("user_profiles").asText()).isEqualTo("quarantined");
            assertThat(answer.get("targets").get("user_settings").asText()).isEqualTo("saved");
            assertThat(answer.get("error").get("class").asText()).isEqualTo("rejected");
            assertThat(answer.get("error").get("code").asText()).isEqualTo("23514");
            JsonNode entry = localEntry(tenant, user).orElseThrow();
            assertThat(entry.get("state").asText()).isEqualTo("quarantined");
            assertThat(entry.get("lastError").get("code").asText()).isEqualTo("23514");
            assertThat(entry.get("lastError").get("message").asText()).contains("test_refuse");
        } finally {
            execute("ALTER TABLE public.user_profiles DROP CONSTRAINT test_refuse");
        }
    }

    @Test
    void aUserOfAnotherTenantIsRefusedAndNothingIsWritten() {
        String tenant = newTenant();
        String intruder = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"callAgentId\":\"mine\"}").statusCode()).isEqualTo(200);
        var profileBefore = profileRow(user).orElseThrow();
        var settingsBefore = settingsRow(user).orElseThrow();

        HttpResponse<String> r = put(intruder, user, "{\"callAgentId\":\"theirs\",\"retellApiKey\":\"" + newKey() + "\"}");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(json(r).get("detail").asText()).contains("another tenant");
        assertThat(profileRow(user).orElseThrow()).isEqualTo(profileBefore);
        assertThat(settingsRow(user).orElseThrow()).isEqualTo(settingsBefore);
        assertThat(query("SELECT count(*) AS n FROM public.user_settings WHERE user_id = ?", user).get(0).get("n"))
                .isEqualTo(1L);
        assertThat(localEntry(intruder, user)).isEmpty();
        assertThat(localEntry(tenant, user)).isEmpty();
    }

    @Test
    void aUserPendingLocallyUnderAnotherTenantIsRefusedDuringAnOutage() {
        String tenant = newTenant();
        String intruder = newTenant();
        UUID user = newUser();
        stopDatabase();
        try {
            assertThat(put(tenant, user, "{\"callAgentId\":\"mine\"}").statusCode()).isEqualTo(202);
            HttpResponse<String> r = put(intruder, user, "{\"callAgentId\":\"theirs\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
            assertThat(localEntry(intruder, user)).isEmpty();
        } finally {
            startDatabase();
        }
    }

    @Test
    void anUnwritableLocalStoreAnswers503AndAcknowledgesNothing() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        Path store = dataDir.resolve("local-store");
        Files.createDirectories(store);
        // the tenant's directory cannot be created: a file stands in its place (root ignores chmod)
        Files.writeString(store.resolve(tenant), "not a directory");
        stopDatabase();
        try {
            HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"c_nowhere\"}");

            assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
            assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            assertThat(json(r).get("detail").asText()).contains("nothing was saved");
            assertThat(json(r).toString()).doesNotContain("Exception").doesNotContain("\tat ");
        } finally {
            startDatabase();
            Files.delete(store.resolve(tenant));
        }
        assertThat(profileRow(user)).isEmpty();
        assertThat(settingsRow(user)).isEmpty();
    }

    @Test
    void twoConcurrentSavesForOneUserDuringAnOutageBothSurviveInOneEntry() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        stopDatabase();
        try {
            CyclicBarrier start = new CyclicBarrier(2);
            List<CompletableFuture<HttpResponse<String>>> saves = new ArrayList<>();
            for (String body : List.of("{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"c_one\"}",
                    "{\"smsAgentId\":\"s_two\"}")) {
                saves.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        start.await();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    return put(tenant, user, body);
                }));
            }
            for (var f : saves) {
                assertThat(f.get().statusCode()).as(f.get().body()).isEqualTo(202);
            }
            JsonNode entry = localEntry(tenant, user).orElseThrow();
            assertThat(entry.get("fields").get("callAgentId").get("value").asText()).isEqualTo("c_one");
            assertThat(entry.get("fields").get("smsAgentId").get("value").asText()).isEqualTo("s_two");
            assertThat(cipher().open(entry.get("fields").get("retellApiKey").get("value").asText(),
                    tenant + ":" + user + ":retellApiKey")).isEqualTo(key);
            try (var listing = Files.list(localFile(tenant, user).getParent())) {
                assertThat(listing.count()).isEqualTo(1);
            }
        } finally {
            startDatabase();
        }
    }
}
