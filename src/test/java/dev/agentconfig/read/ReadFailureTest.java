package dev.agentconfig.read;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.crypto.FieldCipher;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One location failing, slow or holding a key that does not decrypt: the read still answers
 * from the others, and says which location failed and how.
 */
class ReadFailureTest extends ReadTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(ReadFailureTest.class);

    @BeforeEach
    void healthy() {
        if (!embedded().running()) {
            startDatabase();
        }
        resetBreakers();
    }

    @Test
    void theDatabaseStoppedTheReadAnswersFromTheLocalStore() {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"callAgentId\":\"call_db\",\"smsAgentId\":\"sms_db\"}").statusCode()).isEqualTo(200);
        String dbOnlyTenant = newTenant();
        UUID dbOnlyUser = newUser();
        assertThat(put(dbOnlyTenant, dbOnlyUser, "{\"callAgentId\":\"call_only_db\"}").statusCode()).isEqualTo(200);
        String unseenTenant = newTenant();
        UUID unseenUser = newUser();
        insertProfile(unseenTenant, unseenUser, null, "{\"call_agent_id\":\"call_unseen\"}", "{\"callAgentId\":1}");
        stopDatabase();
        try {
            assertThat(put(tenant, user, "{\"smsAgentId\":\"sms_outage\"}").statusCode()).isEqualTo(202);

            long t0 = System.nanoTime();
            HttpResponse<String> r = getConfig(tenant, user);
            long ms = (System.nanoTime() - t0) / 1_000_000;

            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            LOG.info("FIGURE read latency with the database stopped: {} ms (connect timeout 400 ms)", ms);
            JsonNode view = json(r);
            assertThat(view.get("smsAgentId").asText()).isEqualTo("sms_outage");
            assertThat(view.get("fields").get("smsAgentId").get("source").asText()).isEqualTo("local_store");
            // what only the database holds cannot be read now: answered from this server's last-known copy
            // (read/LastKnownReadTest), and the answer says why
            assertThat(view.get("callAgentId").asText()).isEqualTo("call_db");
            assertThat(view.get("fields").get("callAgentId").get("source").asText()).isEqualTo("last_known");
            for (String table : List.of("user_profiles", "user_settings")) {
                JsonNode source = view.get("sources").get(table);
                assertThat(source.get("status").asText()).isEqualTo("error");
                assertThat(source.get("errorClass").asText()).isEqualTo("transient");
                // the connection refused at once (08001), the server gone (57P01), or no pool connection in time (the pool
                // kept trying to open one: pool-timeout)
                assertThat(source.get("code").asText()).matches("08001|57P01|pool-timeout");
            }
            assertThat(view.get("sources").get("local_store").get("status").asText()).isEqualTo("ok");

            // a user saved through this server before the outage: its last-known copy answers
            HttpResponse<String> known = getConfig(dbOnlyTenant, dbOnlyUser);
            assertThat(known.statusCode()).as(known.body()).isEqualTo(200);
            assertThat(json(known).get("callAgentId").asText()).isEqualTo("call_only_db");

            // a user only the database knows: not "404 unknown" (it may exist), but 503
            HttpResponse<String> unknown = getConfig(unseenTenant, unseenUser);
            assertThat(unknown.statusCode()).as(unknown.body()).isEqualTo(503);
            assertThat(unknown.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            assertThat(json(unknown).get("sources").get("user_profiles").get("status").asText()).isEqualTo("error");
        } finally {
            startDatabase();
        }
    }

    @Test
    void aMissingColumnIsSchemaDriftAndTheOtherLocationsAnswer() {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"callAgentId\":\"call_1\"}").statusCode()).isEqualTo(200);
        execute("ALTER TABLE public.user_settings RENAME COLUMN retell_config TO retell_config_gone");
        try {
            JsonNode view = read(tenant, user);

            assertThat(view.get("callAgentId").asText()).isEqualTo("call_1");
            assertThat(view.get("fields").get("callAgentId").get("source").asText()).isEqualTo("user_profiles");
            JsonNode settings = view.get("sources").get("user_settings");
            assertThat(settings.get("status").asText()).isEqualTo("error");
            assertThat(settings.get("errorClass").asText()).isEqualTo("schema_drift");
            assertThat(settings.get("code").asText()).isEqualTo("42703");
            assertThat(view.get("sources").get("user_profiles").get("status").asText()).isEqualTo("ok");

            JsonNode report = json(diagnostics(tenant, user));
            assertThat(report.get("locations").get("user_settings").get("message").asText()).contains("retell_config");
            assertThat(check(report, "locations-readable").get("pass").asBoolean()).isFalse();
            assertThat(check(report, "locations-readable").get("detail").asText()).contains("user_settings", "42703");
        } finally {
            execute("ALTER TABLE public.user_settings RENAME COLUMN retell_config_gone TO retell_config");
        }
    }

    @Test
    void aSlowLocationIsReportedAsTimeoutAndDoesNotStallTheRead() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"callAgentId\":\"call_1\",\"smsAgentId\":\"sms_1\"}").statusCode()).isEqualTo(200);
        long healthyMs = timed(() -> read(tenant, user));
        // another session holds an exclusive lock on user_settings: the read's SELECT waits for
        // it until the statement timeout (1.5 s here), far beyond the read timeout (0.7 s)
        try (Connection blocker = dataSource().getConnection()) {
            blocker.setAutoCommit(false);
            try (Statement st = blocker.createStatement()) {
                st.execute("LOCK TABLE public.user_settings IN ACCESS EXCLUSIVE MODE");
            }
            JsonNode[] view = new JsonNode[1];
            long slowMs = timed(() -> view[0] = read(tenant, user));
            blocker.rollback();

            assertThat(view[0].get("callAgentId").asText()).isEqualTo("call_1");
            assertThat(view[0].get("fields").get("callAgentId").get("source").asText()).isEqualTo("user_profiles");
            assertThat(view[0].get("sources").get("user_settings").get("status").asText()).isEqualTo("timeout");
            assertThat(view[0].get("sources").get("user_profiles").get("status").asText()).isEqualTo("ok");
            assertThat(view[0].get("sources").get("local_store").get("status").asText()).isEqualTo("empty");
            // reported, not asserted as a threshold: the read ends at the read timeout
            LOG.info("FIGURE read latency: healthy {} ms; with user_settings locked {} ms (read timeout 700 ms, "
                    + "statement timeout 1500 ms)", healthyMs, slowMs);
            System.out.printf("FIGURE read latency: healthy %d ms; user_settings locked %d ms (read timeout 700 ms)%n",
                    healthyMs, slowMs);
        }
        io.micrometer.core.instrument.MeterRegistry meters = context.getRegistry()
                .lookupByNameAndType("meterRegistry", io.micrometer.core.instrument.MeterRegistry.class);
        assertThat(meters.get("agentconfig.read.location.failures").tag("location", "user_settings")
                .tag("status", "timeout").counter().count()).isGreaterThanOrEqualTo(1);
        // once the lock is gone the location answers again
        assertThat(read(tenant, user).get("sources").get("user_settings").get("status").asText()).isEqualTo("ok");
    }

    @Test
    void anUnreadableLocalStoreIsReportedAndTheDatabaseAnswers() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"callAgentId\":\"call_1\"}").statusCode()).isEqualTo(200);
        Path store = dataDir.resolve("local-store");
        Files.createDirectories(store);
        // the tenant's directory is a file: reading the entry fails with an I/O error
        Files.writeString(store.resolve(tenant), "not a directory");
        try {
            JsonNode view = read(tenant, user);

            assertThat(view.get("callAgentId").asText()).isEqualTo("call_1");
            assertThat(view.get("sources").get("local_store").get("status").asText()).isEqualTo("error");
            assertThat(view.get("sources").get("local_store").get("errorClass").asText()).isEqualTo("transient");
            // without the local store, nobody can say whether something is pending
            assertThat(view.get("sync").get("state").asText()).isEqualTo("unknown");
        } finally {
            Files.delete(store.resolve(tenant));
        }
    }

    @Test
    void aKeySealedWithAnotherEncryptionKeyIsReportedUndecryptable() {
        String tenant = newTenant();
        UUID user = newUser();
        String foreign = new FieldCipher(randomBytes(32)).seal(newKey(), tenant + ":" + user + ":retellApiKey");
        assertUndecryptable(tenant, user, foreign, "sealed with another key");
    }

    @Test
    void aTamperedEnvelopeIsReportedUndecryptable() {
        String tenant = newTenant();
        UUID user = newUser();
        String envelope = seal(tenant, user, newKey());
        int last = envelope.length() - 3;
        char flipped = envelope.charAt(last) == 'A' ? 'B' : 'A';
        String tampered = envelope.substring(0, last) + flipped + envelope.substring(last + 1);
        assertUndecryptable(tenant, user, tampered, "does not decrypt");
    }

    @Test
    void aKeyCopiedFromAnotherUserDoesNotDecryptAndDoesNotLeak() {
        String tenant = newTenant();
        UUID victim = newUser();
        UUID thief = newUser();
        String victimsKey = newKey();
        assertThat(put(tenant, victim, "{\"retellApiKey\":\"" + victimsKey + "\"}").statusCode()).isEqualTo(200);
        String copied = (String) profileRow(victim).orElseThrow().get("encrypted_retell_api_key");

        assertUndecryptable(tenant, thief, copied, "does not decrypt");

        HttpResponse<String> revealed = get("/api/v1/agent-config/" + tenant + "/" + thief + "?reveal=true", serviceToken);
        assertThat(revealed.statusCode()).isEqualTo(200);
        assertThat(json(revealed).get("retellApiKey").isNull()).isTrue();
        assertThat(json(revealed).get("revealed").asBoolean()).isFalse();
        assertThat(revealed.body()).doesNotContain(victimsKey).doesNotContain(FieldCipher.mask(victimsKey));
        assertThat(logs.text()).doesNotContain(victimsKey);
    }

    private void assertUndecryptable(String tenant, UUID user, String envelope, String reason) {
        long v = versionAt(Instant.now().minusSeconds(5));
        insertProfile(tenant, user, envelope, "{\"call_agent_id\":\"call_ok\"}",
                "{\"retellApiKey\":" + v + ",\"callAgentId\":" + v + "}");

        HttpResponse<String> r = getConfig(tenant, user);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode view = json(r);
        assertThat(view.get("retellApiKey").isNull()).isTrue();
        assertThat(view.get("fields").get("retellApiKey").get("error").asText()).isEqualTo("undecryptable");
        assertThat(view.get("fields").get("retellApiKey").get("source").asText()).isEqualTo("user_profiles");
        assertThat(view.get("callAgentId").asText()).isEqualTo("call_ok");
        assertThat(r.body()).doesNotContain(envelope);

        JsonNode report = json(diagnostics(tenant, user));
        JsonNode held = report.get("locations").get("user_profiles").get("fields").get("retellApiKey");
        assertThat(held.get("error").asText()).isEqualTo("undecryptable");
        assertThat(held.get("reason").asText()).contains(reason);
        assertThat(check(report, "key-decrypts").get("pass").asBoolean()).isFalse();
        assertThat(check(report, "key-decrypts").get("detail").asText()).contains("user_profiles");
    }

    private static long timed(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1_000_000;
    }

}
