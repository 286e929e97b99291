package dev.agentconfig.save;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * On the jdbc transport a save is written in one transaction with both targets and its audit row (a group
 * commit: with other saves that arrived meanwhile, one WAL flush). A target the database cannot or will not
 * take is parked alone (the group is written again save by save, each target behind its own savepoint), and
 * the other target still lands.
 */
class TransactionPerSaveTest extends ServiceTestSupport {

    private long xmin(String sql, Object... args) {
        return ((Number) query(sql, args).get(0).get("x")).longValue();
    }

    /**
     * The rows a save writes carry the id of the transaction that wrote them. A save (alone, or in a group commit)
     * writes both targets and its audit row in one transaction, with no savepoint on the happy path (a savepoint
     * is taken only when a group is written again save by save after a refusal): profile = settings = audit.
     * Written as three commits, the audit row would come from another transaction, long after. (Before the group
     * commit, each target's row carried its own savepoint's subtransaction id: profile + 1 = settings = audit.)
     */
    @Test
    void aSaveIsOneTransactionWithItsAuditRow() {
        String tenant = newTenant();
        for (int i = 0; i < 20; i++) {
            UUID user = newUser();
            java.time.Instant before = java.time.Instant.now();
            HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"c" + i + "\",\"retellApiKey\":\"" + newKey() + "\"}");
            java.time.Instant after = java.time.Instant.now();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            String saveId = json(r).get("saveId").asText();
            long profile = xmin("SELECT xmin::text::bigint AS x FROM public.user_profiles WHERE user_id = ?", user);
            long settings = xmin("SELECT xmin::text::bigint AS x FROM public.user_settings WHERE user_id = ?", user);
            long audit = xmin("SELECT xmin::text::bigint AS x FROM public.audit_log WHERE user_id = ? AND event = 'save' "
                    + "AND details->>'saveId' = ?", user, saveId);
            assertThat(profile).as("profile row of save %d", i).isEqualTo(settings);
            assertThat(audit).as("audit row of save %d", i).isEqualTo(settings);
            // the row's time is the save's own (sent as ISO-8601 text, whatever the session's time zone)
            java.time.Instant at = ((java.sql.Timestamp) query("SELECT at FROM public.audit_log WHERE user_id = ? "
                    + "AND event = 'save' AND details->>'saveId' = ?", user, saveId).get(0).get("at")).toInstant();
            assertThat(at).isBetween(before, after);
        }
    }

    /**
     * The pool hands a thread back the connection it used a moment ago without checking it. When the database
     * closed that connection in between (a terminated backend), the save's first statement fails and
     * the pool discards the connection. Nothing of the save was written on it yet: the in-request retry takes a
     * new connection and the save lands. (Before: the retry reused the discarded connection, failed with
     * "Connection is closed", a failure without a code, and the save was parked as "unknown", opening no breaker.)
     */
    @Test
    void aConnectionTheDatabaseClosedJustBeforeASaveCostsARetryNotAParkedSave() throws Exception {
        String tenant = newTenant();
        // the first statement on the closed connection fails: the breaker of user_profiles sees that attempt
        java.util.concurrent.atomic.AtomicInteger failedAttempts = new java.util.concurrent.atomic.AtomicInteger();
        breaker("profileBreaker").getEventPublisher().onError(e -> failedAttempts.incrementAndGet());
        try (java.sql.Connection admin = java.sql.DriverManager.getConnection(embedded().jdbcUrl(), embedded().user(),
                embedded().password()); java.sql.Statement st = admin.createStatement()) {
            for (int i = 0; i < 5; i++) {
                UUID user = newUser();
                var warm = saveRoute(tenant, newUser(), "{\"callAgentId\":\"warm\"}");
                assertThat(warm.getMessage().getHeader(org.apache.camel.Exchange.HTTP_RESPONSE_CODE)).isEqualTo(200);
                // the server closes the pool's connection that went idle last: the one the warm-up save used, which
                // the pool gives this thread back next (the pool's other connections stay as they are)
                java.util.List<Integer> pids = new java.util.ArrayList<>();
                try (java.sql.ResultSet rs = st.executeQuery("SELECT pid, pg_terminate_backend(pid) FROM ("
                        + "SELECT pid FROM pg_stat_activity WHERE application_name = 'agent-config-sync' "
                        + "AND pid <> pg_backend_pid() ORDER BY state_change DESC LIMIT 1) last")) {
                    while (rs.next()) {
                        pids.add(rs.getInt(1));
                    }
                }
                assertThat(pids).isNotEmpty();
                String gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(ARRAY" + pids + ")";
                await().atMost(Duration.ofSeconds(30)).until(() -> {
                    try (java.sql.ResultSet rs = st.executeQuery(gone)) {
                        rs.next();
                        return rs.getInt(1) == 0;
                    }
                });

                var ex = saveRoute(tenant, user, "{\"callAgentId\":\"after_" + i + "\"}");

                assertThat(ex.getException()).isNull();
                assertThat(ex.getMessage().getBody(java.util.Map.class).get("status")).as("save %d: %s", i,
                        ex.getMessage().getBody()).isEqualTo("saved");
                assertThat(ex.getMessage().getHeader(org.apache.camel.Exchange.HTTP_RESPONSE_CODE)).isEqualTo(200);
                assertThat(localEntry(tenant, user)).isEmpty();
                assertThat(json(String.valueOf(profileRow(user).orElseThrow().get("encrypted_agent_config")))
                        .get("call_agent_id").asText()).isEqualTo("after_" + i);
                assertThat(settingsRow(user)).isPresent();
            }
            // at least one of the saves met its closed connection (the pool checks a connection idle for more than
            // half a second itself: a slow machine may let some through that way)
            assertThat(failedAttempts.get()).as("saves whose first attempt met the closed connection").isPositive();
        } finally {
            database().forgetConnections(true); // the next test starts with a pool of live connections
        }
    }

    @Test
    void aDroppedColumnParksOnlyItsTargetAndTheOtherLands() {
        String tenant = newTenant();
        UUID user = newUser();
        execute("ALTER TABLE public.user_settings DROP COLUMN api_key_updated_at");
        HttpResponse<String> r;
        try {
            r = put(tenant, user, "{\"callAgentId\":\"lands_in_profiles\",\"retellApiKey\":\"" + newKey() + "\"}");
        } finally {
            execute("ALTER TABLE public.user_settings ADD COLUMN IF NOT EXISTS api_key_updated_at timestamptz");
        }
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        JsonNode answer = json(r);
        assertThat(answer.get("targets").get("user_profiles").asText()).isEqualTo("saved");
        assertThat(answer.get("targets").get("user_settings").asText()).isEqualTo("queued");
        assertThat(answer.get("error").get("class").asText()).isEqualTo("schema_drift");
        assertThat(json(String.valueOf(profileRow(user).orElseThrow().get("encrypted_agent_config")))
                .get("call_agent_id").asText()).isEqualTo("lands_in_profiles");
        assertThat(settingsRow(user)).isEmpty();
        JsonNode entry = localEntry(tenant, user).orElseThrow();
        assertThat(entry.get("pendingTargets").toString()).isEqualTo("[\"user_settings\"]");
        // the save's audit row says what happened (written outside the save's transaction: it was parked)
        await().atMost(Duration.ofSeconds(10)).until(() -> !query(
                "SELECT 1 FROM public.audit_log WHERE user_id = ? AND event = 'save'", user).isEmpty());
    }

    @Test
    void dataOneTableRefusesIsQuarantinedForThatTargetOnly() {
        String tenant = newTenant();
        UUID user = newUser();
        execute("ALTER TABLE public.user_profiles ADD CONSTRAINT no_refused_agent "
                + "CHECK (encrypted_agent_config->>'call_agent_id' IS DISTINCT FROM 'refused_by_profiles')");
        HttpResponse<String> r;
        try {
            r = put(tenant, user, "{\"callAgentId\":\"refused_by_profiles\"}");
        } finally {
            execute("ALTER TABLE public.user_profiles DROP CONSTRAINT no_refused_agent");
        }
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        JsonNode answer = json(r);
        assertThat(answer.get("status").asText()).isEqualTo("quarantined");
        assertThat(answer.get("targets").get("user_profiles").asText()).isEqualTo("quarantined");
        assertThat(answer.get("targets").get("user_settings").asText()).isEqualTo("saved");
        assertThat(answer.get("error").get("code").asText()).isEqualTo("23514");
        assertThat(profileRow(user)).isEmpty();
        assertThat(json(String.valueOf(settingsRow(user).orElseThrow().get("retell_config")))
                .get("call_agent_id").asText()).isEqualTo("refused_by_profiles");
        JsonNode entry = localEntry(tenant, user).orElseThrow();
        assertThat(entry.get("state").asText()).isEqualTo("quarantined");
        assertThat(entry.get("pendingTargets").toString()).isEqualTo("[\"user_profiles\"]");
    }
}
