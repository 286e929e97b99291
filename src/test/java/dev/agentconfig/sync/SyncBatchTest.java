package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The sync drains in batches on the jdbc transport: the due entries of a batch are written in one
 * transaction, one multi-row statement per table, and the tables' per-field guards still decide per row.
 * A poison entry (data a table refuses, a user of another tenant) is isolated: it alone is quarantined and
 * the rest of its batch drains in the same pass. A failure of the whole batch (a statement timeout) is a
 * transient failure of every entry for that table; an open breaker defers its table without charging an
 * attempt.
 */
class SyncBatchTest extends SyncTestSupport {

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        // the breakers stay as a test sets them (the probe would close a breaker held open while the database answers)
        p.setProperty("agentconfig.breaker.probe-interval", "10m");
        return p;
    }

    /** Closed breakers, and nothing pending left by another test: each pass's counts are the test's own. */
    @BeforeEach
    void closedBreakersNothingPending() {
        resetBreakers();
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() ->
                gauge("agentconfig.sync.pending.entries") == 0 || sync().get("stillPending").asInt() == 0);
    }

    /** n saves parked for both tables (user_profiles renamed away): user -> the version of its save. */
    private Map<UUID, Long> parked(String tenant, int n, String callAgentPrefix) {
        Map<UUID, Long> versions = new HashMap<>();
        withTablesAway(() -> {
            for (int i = 0; i < n; i++) {
                UUID user = newUser();
                JsonNode a = putQueued(tenant, user, "{\"callAgentId\":\"" + callAgentPrefix + i + "\",\"retellApiKey\":\""
                        + newKey() + "\"}");
                versions.put(user, a.get("version").asLong());
            }
        });
        return versions;
    }

    /** Passes (ours, or one the service started) until the users' entries are gone. */
    private void drainedSoon(String tenant, java.util.Collection<UUID> users) {
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(300)).until(() -> {
            if (users.stream().allMatch(u -> localEntry(tenant, u).isEmpty())) {
                return true;
            }
            sync();
            return users.stream().allMatch(u -> localEntry(tenant, u).isEmpty());
        });
    }

    private long distinctWriters(String table, String tenant) {
        return ((Number) query("SELECT count(DISTINCT xmin::text) AS n FROM public." + table + " WHERE tenant_id = ?",
                tenant).get(0).get("n")).longValue();
    }

    /**
     * A row carries the id of the (sub)transaction that wrote it: every row of one statement behind one
     * savepoint carries the same. Replayed entry by entry, 20 entries' rows carry 20 different ids.
     */
    @Test
    void aPassWritesItsBatchInOneStatementPerTable() {
        String tenant = newTenant();
        Map<UUID, Long> versions = parked(tenant, 20, "c_batch_");

        JsonNode pass = sync();

        assertThat(pass.get("drained").asInt()).as(pass.toString()).isEqualTo(20);
        versions.forEach((user, version) -> {
            assertThat(localEntry(tenant, user)).isEmpty();
            assertThat(jsonOf(profileRow(user).orElseThrow(), "field_versions").get("callAgentId").asLong()).isEqualTo(version);
            assertThat(jsonOf(settingsRow(user).orElseThrow(), "field_versions").get("retellApiKey").asLong()).isEqualTo(version);
            assertThat(text(profileRow(user).orElseThrow(), "encrypted_retell_api_key")).startsWith("v1:")
                    .isEqualTo(jsonOf(settingsRow(user).orElseThrow(), "encrypted_api_keys").get("retell_api_key").asText());
        });
        assertThat(distinctWriters("user_profiles", tenant)).as("transactions that wrote the 20 user_profiles rows")
                .isEqualTo(1);
        assertThat(distinctWriters("user_settings", tenant)).as("transactions that wrote the 20 user_settings rows")
                .isEqualTo(1);
        // one audit row per drained entry
        await().atMost(Duration.ofSeconds(10)).until(() -> query("SELECT 1 FROM public.audit_log WHERE tenant_id = ? "
                + "AND event = 'sync' AND success AND details->>'result' = 'drained'", tenant).size() == 20);
    }

    @Test
    void aPoisonEntryIsQuarantinedAloneAndTheRestOfItsBatchDrains() {
        String tenant = newTenant();
        Map<UUID, Long> versions = parked(tenant, 8, "c_good_");
        UUID refused = newUser();
        UUID foreign = newUser();
        withTablesAway(() -> {
            putQueued(tenant, refused, "{\"callAgentId\":\"poison_value\"}");
            putQueued(tenant, foreign, "{\"callAgentId\":\"c_foreign\"}");
        });
        // meanwhile another writer registered one user under another tenant, and user_profiles refuses one value
        execute("INSERT INTO public.user_profiles (user_id, tenant_id) VALUES ('" + foreign + "', 'other-tenant')");
        execute("ALTER TABLE public.user_profiles ADD CONSTRAINT sync_batch_poison CHECK "
                + "(encrypted_agent_config ->> 'call_agent_id' IS DISTINCT FROM 'poison_value')");
        JsonNode pass;
        try {
            pass = sync();
        } finally {
            execute("ALTER TABLE public.user_profiles DROP CONSTRAINT sync_batch_poison");
        }

        assertThat(pass.get("due").asInt()).as(pass.toString()).isEqualTo(10);
        assertThat(pass.get("drained").asInt()).as(pass.toString()).isEqualTo(8);
        assertThat(pass.get("quarantined").asInt()).as(pass.toString()).isEqualTo(2);
        versions.forEach((user, version) -> {
            assertThat(localEntry(tenant, user)).as("entry of %s", user).isEmpty();
            assertThat(jsonOf(profileRow(user).orElseThrow(), "field_versions").get("callAgentId").asLong()).isEqualTo(version);
            assertThat(jsonOf(settingsRow(user).orElseThrow(), "field_versions").get("callAgentId").asLong()).isEqualTo(version);
        });
        // the refused value: quarantined for user_profiles only, user_settings took it
        JsonNode poison = localEntry(tenant, refused).orElseThrow();
        assertThat(poison.get("state").asText()).isEqualTo("quarantined");
        assertThat(poison.get("pendingTargets").toString()).isEqualTo("[\"user_profiles\"]");
        assertThat(poison.get("lastError").get("failureClass").asText()).isEqualTo("rejected");
        assertThat(poison.get("lastError").get("code").asText()).isEqualTo("23514");
        assertThat(poison.get("lastError").get("message").asText()).contains("sync_batch_poison");
        assertThat(profileRow(refused)).isEmpty();
        assertThat(jsonOf(settingsRow(refused).orElseThrow(), "retell_config").get("call_agent_id").asText())
                .isEqualTo("poison_value");
        // the other tenant's user: quarantined, nothing of it written
        JsonNode conflict = localEntry(tenant, foreign).orElseThrow();
        assertThat(conflict.get("state").asText()).isEqualTo("quarantined");
        assertThat(conflict.get("lastError").get("failureClass").asText()).isEqualTo("tenant_conflict");
        assertThat(conflict.get("lastError").get("code").asText()).isEqualTo("AC409");
        assertThat(text(profileRow(foreign).orElseThrow(), "tenant_id")).isEqualTo("other-tenant");
        assertThat(jsonOf(profileRow(foreign).orElseThrow(), "encrypted_agent_config").has("call_agent_id")).isFalse();
        assertThat(settingsRow(foreign)).isEmpty();
        // an audit row per drained and per quarantined entry
        await().atMost(Duration.ofSeconds(10)).until(() -> query(
                "SELECT 1 FROM public.audit_log WHERE tenant_id = ? AND event = 'sync'", tenant).size() == 10);
        assertThat(query("SELECT count(*) AS n FROM public.audit_log WHERE tenant_id = ? AND event = 'sync' AND NOT success",
                tenant).get(0).get("n")).isEqualTo(2L);
    }

    @Test
    void aBatchReplayOfOldEntriesNeverOverwritesNewerValues() {
        String tenant = newTenant();
        Map<UUID, Long> old = parked(tenant, 6, "c_old_");
        List<UUID> users = new ArrayList<>(old.keySet());
        Map<UUID, Long> newer = new HashMap<>();
        for (UUID user : users.subList(0, 3)) {
            HttpResponse<String> direct = put(tenant, user, "{\"callAgentId\":\"c_new\"}");
            assertThat(direct.statusCode()).as(direct.body()).isEqualTo(200);
            newer.put(user, json(direct).get("version").asLong());
            assertThat(newer.get(user)).isGreaterThan(old.get(user));
        }
        double staleBefore = replays("user_profiles", "stale") + replays("user_settings", "stale");

        JsonNode pass = sync();

        assertThat(pass.get("drained").asInt()).as(pass.toString()).isEqualTo(6);
        for (UUID user : users) {
            long version = newer.getOrDefault(user, old.get(user));
            Map<String, Object> profile = profileRow(user).orElseThrow();
            Map<String, Object> settings = settingsRow(user).orElseThrow();
            String call = jsonOf(profile, "encrypted_agent_config").get("call_agent_id").asText();
            if (newer.containsKey(user)) {
                assertThat(call).as("user_profiles of %s", user).isEqualTo("c_new");
            } else {
                assertThat(call).as("user_profiles of %s", user).startsWith("c_old_");
            }
            assertThat(jsonOf(settings, "retell_config").get("call_agent_id").asText()).as("user_settings of %s", user)
                    .isEqualTo(call);
            assertThat(jsonOf(profile, "field_versions").get("callAgentId").asLong()).isEqualTo(version);
            assertThat(jsonOf(settings, "field_versions").get("callAgentId").asLong()).isEqualTo(version);
            // the key of the old entry was not newer than anything: it landed
            assertThat(jsonOf(profile, "field_versions").get("retellApiKey").asLong()).isEqualTo(old.get(user));
            assertThat(localEntry(tenant, user)).isEmpty();
        }
        assertThat(replays("user_profiles", "stale") + replays("user_settings", "stale")).isEqualTo(staleBefore + 6);
    }

    /**
     * One user's row is locked by another transaction: the batch's user_profiles statement waits for it until the
     * statement timeout. That is the whole batch's failure for user_profiles (transient, charged, backoff), not a
     * reason to write the batch entry by entry; user_settings still takes the batch.
     */
    @Test
    void aStatementTimeoutIsATransientFailureOfTheWholeBatchForThatTable() throws Exception {
        String tenant = newTenant();
        UUID locked = newUser();
        assertThat(put(tenant, locked, "{\"smsAgentId\":\"s_before\"}").statusCode()).isEqualTo(200);
        Map<UUID, Long> versions = parked(tenant, 4, "c_wait_");
        withTablesAway(() -> versions.put(locked, putQueued(tenant, locked, "{\"callAgentId\":\"c_locked\"}")
                .get("version").asLong()));
        JsonNode pass;
        try (Connection holder = dataSource().getConnection(); Statement st = holder.createStatement()) {
            holder.setAutoCommit(false);
            st.execute("SELECT 1 FROM public.user_profiles WHERE user_id = '" + locked + "' FOR UPDATE");
            pass = sync();
            holder.rollback();
        }

        assertThat(pass.get("partial").asInt()).as(pass.toString()).isEqualTo(5);
        for (UUID user : versions.keySet()) {
            JsonNode entry = localEntry(tenant, user).orElseThrow();
            assertThat(entry.get("state").asText()).isEqualTo("pending");
            assertThat(entry.get("pendingTargets").toString()).isEqualTo("[\"user_profiles\"]");
            assertThat(entry.get("lastError").get("failureClass").asText()).isEqualTo("transient");
            assertThat(entry.get("lastError").get("code").asText()).isEqualTo("57014");
            assertThat(entry.get("attempts").asInt()).isEqualTo(2);
            assertThat(jsonOf(settingsRow(user).orElseThrow(), "field_versions").get("callAgentId").asLong())
                    .isEqualTo(versions.get(user));
        }
        assertThat(jsonOf(profileRow(locked).orElseThrow(), "encrypted_agent_config").has("call_agent_id")).isFalse();

        // after the backoff a later pass drains them
        drainedSoon(tenant, versions.keySet());
        versions.forEach((user, version) -> assertThat(jsonOf(profileRow(user).orElseThrow(), "field_versions")
                .get("callAgentId").asLong()).isEqualTo(version));
    }

    @Test
    void aTableWhoseBreakerIsOpenIsDeferredWithoutChargingAnAttempt() {
        String tenant = newTenant();
        Map<UUID, Long> versions = parked(tenant, 3, "c_open_");
        breaker("profileBreaker").transitionToForcedOpenState();
        JsonNode pass;
        try {
            pass = sync();
        } finally {
            resetBreakers();
        }

        assertThat(pass.get("partial").asInt()).as(pass.toString()).isEqualTo(3);
        versions.forEach((user, version) -> {
            JsonNode entry = localEntry(tenant, user).orElseThrow();
            assertThat(entry.get("pendingTargets").toString()).isEqualTo("[\"user_profiles\"]");
            assertThat(entry.get("attempts").asInt()).as("not charged").isEqualTo(1);
            assertThat(profileRow(user)).isEmpty();
            assertThat(jsonOf(settingsRow(user).orElseThrow(), "field_versions").get("callAgentId").asLong()).isEqualTo(version);
        });

        // the pass stopped at the open breaker and asks for another shortly; or run one now
        drainedSoon(tenant, versions.keySet());
        versions.forEach((user, version) -> assertThat(jsonOf(profileRow(user).orElseThrow(), "field_versions")
                .get("callAgentId").asLong()).isEqualTo(version));
    }
}
