package dev.agentconfig.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.json.Json;
import dev.agentconfig.save.Refusal;
import dev.agentconfig.testing.ServiceTestSupport;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The jdbc transport's group commit (db/JdbcTargetWrites) with the whole service: saves sent to route
 * direct:save as the HTTP door sends them (many at once: below the HTTP layer and its own limits), the
 * embedded PostgreSQL 17, the local store. One writer here, so a group is exactly what was queued while it was
 * busy: the tests hold the writer on a row lock (an open transaction of the test's own), queue saves behind it, and
 * release it; the writer then takes them all as one group (agentconfig.save.group.size shows it).
 */
class GroupCommitTest extends ServiceTestSupport {
    private ExecutorService clients;

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.db.group-commit.writers", "1");
        // the writer waits on the test's row lock for as long as the test holds it
        p.setProperty("agentconfig.db.statement-timeout", "60s");
        p.setProperty("agentconfig.db.group-commit.wait", "60s");
        return p;
    }

    @BeforeEach
    void healthy() {
        resetBreakers();
        clients = Executors.newFixedThreadPool(80);
    }

    @AfterEach
    void tidy() {
        clients.shutdownNow();
    }

    private JdbcTargetWrites writes() {
        return context.getRegistry().lookupByNameAndType("transportWrites", JdbcTargetWrites.class);
    }

    private double largestGroup() {
        return context.getRegistry().lookupByNameAndType("meterRegistry", MeterRegistry.class)
                .get("agentconfig.save.group.size").summary().max();
    }

    /** What the door answers: its status, and the answer's JSON (a refusal's problem: its status only). */
    record Answer(int status, JsonNode body) {
        int statusCode() {
            return status;
        }
    }

    private CompletableFuture<Answer> putAsync(String tenant, UUID user, String json) {
        return CompletableFuture.supplyAsync(() -> {
            Exchange ex = saveRoute(tenant, user, json);
            if (ex.getException() != null) {
                return new Answer(Refusal.of(ex.getException()).status(), null);
            }
            return new Answer(ex.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class),
                    Json.MAPPER.valueToTree(ex.getMessage().getBody()));
        }, clients);
    }

    private long lockWaiters() {
        return (Long) query("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                + "AND application_name = 'agent-config-sync'").get(0).get("n");
    }

    /**
     * The writer busy: the gate user's row of {@code table} locked by the test's transaction, and a save of the
     * gate user in the writer's hands, waiting for that lock. Returns the transaction (roll it back to release).
     */
    private Connection holdWriter(String tenant, UUID gate, String table, List<CompletableFuture<Answer>> gateSave)
            throws Exception {
        Connection holder = java.sql.DriverManager.getConnection(embedded().jdbcUrl(), embedded().user(),
                embedded().password());
        holder.setAutoCommit(false);
        try (Statement st = holder.createStatement()) {
            st.execute("SELECT 1 FROM public." + table + " WHERE user_id = '" + gate + "' FOR UPDATE");
        }
        gateSave.add(putAsync(tenant, gate, "{\"callAgentId\":\"c_gate\",\"smsAgentId\":\"s_gate\"}"));
        await().atMost(Duration.ofSeconds(30)).until(() -> writes().queued() == 0 && lockWaiters() >= 1);
        return holder;
    }

    /**
     * 64 saves in one group, three of them refused as a lone save would be: a CHECK violation (user_profiles
     * quarantined, user_settings saved: 202), another tenant's user (409, nothing written, nothing parked), a
     * dropped column of user_settings (user_profiles saved, user_settings queued: 202). The 61 others saved in both
     * tables (200). Before the group commit each save had its own transaction, so nothing of this could meet; a
     * group written as one statement per table without the entry-by-entry redo would have failed all 64.
     */
    @Test
    void threeRefusedSavesOfAGroupOf64FailAloneAndTheOther61Land() throws Exception {
        String tenant = newTenant();
        UUID gate = newUser();
        assertThat(put(tenant, gate, "{\"callAgentId\":\"c_before\"}").statusCode()).isEqualTo(200);
        // a user another tenant's service wrote (this instance does not know the user's tenant: the table's
        // tenant guard refuses the save in the group, not the door)
        UUID otherTenants = newUser();
        execute("INSERT INTO public.user_profiles (user_id, tenant_id, encrypted_agent_config, field_versions) VALUES ('"
                + otherTenants + "', '" + newTenant() + "', '{\"call_agent_id\":\"c_theirs\"}', '{\"callAgentId\":1}')");
        Map<String, Object> profileOfOther = profileRow(otherTenants).orElseThrow();
        UUID checked = newUser();
        UUID drifted = newUser();
        List<UUID> fine = new ArrayList<>();
        for (int i = 0; i < 61; i++) {
            fine.add(newUser());
        }
        execute("ALTER TABLE public.user_profiles ADD CONSTRAINT test_refuse_in_group CHECK "
                + "(encrypted_agent_config ->> 'call_agent_id' IS DISTINCT FROM 'refused_value')");
        List<CompletableFuture<Answer>> gateSave = new ArrayList<>();
        Map<UUID, CompletableFuture<Answer>> answers = new LinkedHashMap<>();
        try {
            execute("ALTER TABLE public.user_settings DROP COLUMN api_key_updated_at");
            Connection holder = holdWriter(tenant, gate, "user_profiles", gateSave);
            try {
                for (int i = 0; i < fine.size(); i++) {
                    answers.put(fine.get(i), putAsync(tenant, fine.get(i),
                            "{\"callAgentId\":\"c_fine_" + i + "\",\"smsAgentId\":\"s_fine_" + i + "\"}"));
                    if (i == 20) {
                        answers.put(checked, putAsync(tenant, checked, "{\"callAgentId\":\"refused_value\"}"));
                    } else if (i == 40) {
                        answers.put(otherTenants, putAsync(tenant, otherTenants, "{\"callAgentId\":\"c_intruder\"}"));
                    } else if (i == 50) {
                        answers.put(drifted, putAsync(tenant, drifted,
                                "{\"retellApiKey\":\"" + newKey() + "\",\"smsAgentId\":\"s_drift\"}"));
                    }
                }
                // all 64 wait for the writer: they are written as one group
                await().atMost(Duration.ofSeconds(60)).until(() -> writes().queued() == 64);
            } finally {
                holder.rollback();
                holder.close();
            }
            CompletableFuture.allOf(answers.values().toArray(CompletableFuture[]::new)).join();
            // the gate's save met the dropped column too (an update of its user_settings row): not part of the group
            assertThat(gateSave.get(0).join().statusCode()).isIn(200, 202);
        } finally {
            execute("ALTER TABLE public.user_profiles DROP CONSTRAINT IF EXISTS test_refuse_in_group");
            execute("ALTER TABLE public.user_settings ADD COLUMN IF NOT EXISTS api_key_updated_at timestamptz");
        }
        assertThat(largestGroup()).as("the 64 saves were one group").isEqualTo(64.0);

        for (int i = 0; i < fine.size(); i++) {
            UUID user = fine.get(i);
            Answer r = answers.get(user).join();
            assertThat(r.statusCode()).as(String.valueOf(r.body())).isEqualTo(200);
            assertThat(r.body().get("status").asText()).isEqualTo("saved");
            assertThat(json(String.valueOf(profileRow(user).orElseThrow().get("encrypted_agent_config")))
                    .get("call_agent_id").asText()).isEqualTo("c_fine_" + i);
            assertThat(json(String.valueOf(settingsRow(user).orElseThrow().get("retell_config")))
                    .get("sms_agent_id").asText()).isEqualTo("s_fine_" + i);
            assertThat(localEntry(tenant, user)).isEmpty();
        }

        // the CHECK violation: as SaveFailureTest#dataTheDatabaseRefusesIsQuarantined answers a lone save
        Answer refused = answers.get(checked).join();
        assertThat(refused.statusCode()).as(String.valueOf(refused.body())).isEqualTo(202);
        assertThat(refused.body().get("status").asText()).isEqualTo("quarantined");
        assertThat(refused.body().get("targets").get("user_profiles").asText()).isEqualTo("quarantined");
        assertThat(refused.body().get("targets").get("user_settings").asText()).isEqualTo("saved");
        assertThat(refused.body().get("error").get("code").asText()).isEqualTo("23514");
        assertThat(profileRow(checked)).isEmpty();
        assertThat(localEntry(tenant, checked).orElseThrow().get("state").asText()).isEqualTo("quarantined");

        // another tenant's user: 409 (TenantConflict), nothing written, nothing parked
        // (SaveFailureTest#aUserOfAnotherTenant…)
        Answer conflict = answers.get(otherTenants).join();
        assertThat(conflict.statusCode()).as(String.valueOf(conflict.body())).isEqualTo(409);
        assertThat(profileRow(otherTenants).orElseThrow()).isEqualTo(profileOfOther);
        assertThat(localEntry(tenant, otherTenants)).isEmpty();

        // the dropped column: user_profiles saved, user_settings queued (SaveFailureTest#aDroppedColumn…)
        Answer drift = answers.get(drifted).join();
        assertThat(drift.statusCode()).as(String.valueOf(drift.body())).isEqualTo(202);
        assertThat(drift.body().get("targets").get("user_profiles").asText()).isEqualTo("saved");
        assertThat(drift.body().get("targets").get("user_settings").asText()).isEqualTo("queued");
        assertThat(drift.body().get("error").get("code").asText()).isEqualTo("42703");
        assertThat(profileRow(drifted)).isPresent();
        assertThat(settingsRow(drifted)).isEmpty();
        assertThat(localEntry(tenant, drifted).orElseThrow().get("pendingTargets").toString())
                .isEqualTo("[\"user_settings\"]");
    }

    /**
     * One user's two saves in one group apply in arrival order: both answer saved (the second one later, in the
     * group's second round) and the table holds the second. Applied the other way round, the first would answer
     * stale; written in one statement, the database refuses a row twice (21000).
     */
    @Test
    void oneUsersTwoSavesInOneGroupKeepTheirOrder() throws Exception {
        String tenant = newTenant();
        UUID gate = newUser();
        UUID user = newUser();
        assertThat(put(tenant, gate, "{\"callAgentId\":\"c_before\"}").statusCode()).isEqualTo(200);
        List<CompletableFuture<Answer>> gateSave = new ArrayList<>();
        CompletableFuture<Answer> first;
        CompletableFuture<Answer> second;
        CompletableFuture<Answer> bystander;
        Connection holder = holdWriter(tenant, gate, "user_profiles", gateSave);
        try {
            first = putAsync(tenant, user, "{\"callAgentId\":\"c_first\",\"smsAgentId\":\"s_first\"}");
            await().atMost(Duration.ofSeconds(30)).until(() -> writes().queued() == 1);
            second = putAsync(tenant, user, "{\"callAgentId\":\"c_second\"}");
            await().atMost(Duration.ofSeconds(30)).until(() -> writes().queued() == 2);
            bystander = putAsync(tenant, newUser(), "{\"callAgentId\":\"c_bystander\"}");
            await().atMost(Duration.ofSeconds(30)).until(() -> writes().queued() == 3);
        } finally {
            holder.rollback();
            holder.close();
        }
        Answer a = first.join();
        Answer b = second.join();
        assertThat(bystander.join().statusCode()).isEqualTo(200);
        assertThat(gateSave.get(0).join().statusCode()).isEqualTo(200);
        assertThat(largestGroup()).as("the three saves were one group").isGreaterThanOrEqualTo(3.0);

        assertThat(a.statusCode()).as(String.valueOf(a.body())).isEqualTo(200);
        assertThat(a.body().get("status").asText()).isEqualTo("saved");
        assertThat(b.statusCode()).as(String.valueOf(b.body())).isEqualTo(200);
        assertThat(b.body().get("status").asText()).isEqualTo("saved");
        assertThat(b.body().get("version").asLong()).isGreaterThan(a.body().get("version").asLong());
        JsonNode config = json(String.valueOf(profileRow(user).orElseThrow().get("encrypted_agent_config")));
        assertThat(config.get("call_agent_id").asText()).isEqualTo("c_second");
        assertThat(json(String.valueOf(settingsRow(user).orElseThrow().get("retell_config")))
                .get("sms_agent_id").asText()).isEqualTo("s_first");
    }

    /**
     * The database killed while a group is in flight: the group's user_profiles statement has run (its rows are
     * written, not committed) and its user_settings statement waits on a row lock. Every save of it is answered
     * 202 (parked) or 503, none 200; after the restart nothing of the group is in the tables, every parked save is
     * in the local store, and the sync brings each to both tables: none acknowledged and lost.
     */
    @Test
    void aDatabaseKilledMidGroupLeavesEverySaveParkedOrRefusedNoneAcknowledgedAndLost() throws Exception {
        String tenant = newTenant();
        UUID gate = newUser();
        UUID blocker = newUser();
        assertThat(put(tenant, gate, "{\"callAgentId\":\"c_before\"}").statusCode()).isEqualTo(200);
        assertThat(put(tenant, blocker, "{\"callAgentId\":\"c_before\",\"smsAgentId\":\"s_before\"}").statusCode())
                .isEqualTo(200);
        Map<UUID, CompletableFuture<Answer>> answers = new LinkedHashMap<>();
        Map<UUID, String> sent = new LinkedHashMap<>();
        List<CompletableFuture<Answer>> gateSave = new ArrayList<>();
        Connection settingsLock = java.sql.DriverManager.getConnection(embedded().jdbcUrl(), embedded().user(),
                embedded().password());
        settingsLock.setAutoCommit(false);
        try (Statement st = settingsLock.createStatement()) {
            st.execute("SELECT 1 FROM public.user_settings WHERE user_id = '" + blocker + "' FOR UPDATE");
        }
        try {
            Connection holder = holdWriter(tenant, gate, "user_profiles", gateSave);
            try {
                answers.put(blocker, putAsync(tenant, blocker,
                        "{\"smsAgentId\":\"s_blocked\",\"callAgentId\":\"c_blocked\"}"));
                sent.put(blocker, "c_blocked");
                for (int i = 0; i < 31; i++) {
                    UUID user = newUser();
                    answers.put(user, putAsync(tenant, user,
                            "{\"callAgentId\":\"c_mid_" + i + "\",\"smsAgentId\":\"s_mid_" + i + "\"}"));
                    sent.put(user, "c_mid_" + i);
                }
                await().atMost(Duration.ofSeconds(60)).until(() -> writes().queued() == 32);
            } finally {
                holder.rollback(); // the gate's group commits; the 32 go as the next group
                holder.close();
            }
            assertThat(gateSave.get(0).join().statusCode()).isEqualTo(200);
            // mid-group: the 32 taken by the writer, its user_profiles statement done (the rows exist for the
            // writer's transaction only), its user_settings statement waiting on the blocker's row
            await().atMost(Duration.ofSeconds(30)).until(() -> writes().queued() == 0 && lockWaiters() >= 1
                    && !query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    + "AND query LIKE '%update_user_api_keys%'").isEmpty());
            assertThat(answers.values()).noneMatch(CompletableFuture::isDone);
            stopDatabase();
        } finally {
            try {
                settingsLock.close();
            } catch (Exception gone) {
                // the database is down
            }
        }
        CompletableFuture.allOf(answers.values().toArray(CompletableFuture[]::new)).join();
        assertThat(largestGroup()).isGreaterThanOrEqualTo(32.0);
        // answered while the database is down: every save parked (durable in the local store) or refused
        for (Map.Entry<UUID, CompletableFuture<Answer>> e : answers.entrySet()) {
            Answer r = e.getValue().join();
            assertThat(r.statusCode()).as("%s: %s", e.getKey(), String.valueOf(r.body())).isIn(202, 503);
            if (r.statusCode() == 202) {
                JsonNode entry = localEntry(tenant, e.getKey()).orElseThrow();
                assertThat(entry.get("pendingTargets").toString()).contains("user_profiles", "user_settings");
            }
        }
        startDatabase();
        // nothing of the group committed: a save of it that every target took would have its "saved" audit row
        // in the group's transaction (the parked ones are audited "queued", through the audit trail)
        for (UUID user : answers.keySet()) {
            if (user.equals(blocker)) {
                continue; // its first save, before the test, was saved
            }
            assertThat(query("SELECT 1 FROM public.audit_log WHERE user_id = ? AND event = 'save' "
                    + "AND details->>'status' = 'saved'", user)).as("a saved audit row of %s", user).isEmpty();
        }

        // the sync brings every parked save to both tables
        resetBreakers();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            post("/api/v1/sync");
            return answers.keySet().stream().allMatch(u -> localEntry(tenant, u).isEmpty());
        });
        for (Map.Entry<UUID, CompletableFuture<Answer>> e : answers.entrySet()) {
            if (e.getValue().join().statusCode() != 202) {
                continue; // 503: the caller was told nothing was taken
            }
            assertThat(json(String.valueOf(profileRow(e.getKey()).orElseThrow().get("encrypted_agent_config")))
                    .get("call_agent_id").asText()).isEqualTo(sent.get(e.getKey()));
            assertThat(settingsRow(e.getKey())).isPresent();
        }
    }

    private java.net.http.HttpResponse<String> post(String path) {
        return send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(baseUrl() + path))
                .header("Authorization", "Bearer " + serviceToken)
                .POST(java.net.http.HttpRequest.BodyPublishers.noBody()));
    }
}
