package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import dev.agentconfig.audit.AuditTrail;

import org.junit.jupiter.api.Test;

/**
 * A drain's audit rows are written in the drain batch's transaction (issue 19, item 5): during a drain of
 * 10,000 entries the audit trail's bounded queue overflowed and dropped rows. Here 2,000 saves are parked
 * during an outage and drained; every drained entry has exactly one "sync" row as soon as it is settled,
 * and the audit trail's queue carried none of them (its writer wrote only the parked saves' rows).
 */
class DrainAuditTest extends SyncTestSupport {
    private static final int SAVES = 2000;

    @Test
    void everyDrainedEntryHasItsAuditRowCommittedWithItsBatch() throws Exception {
        String tenant = newTenant();
        Set<UUID> users = ConcurrentHashMap.newKeySet();
        AuditTrail trail = context.getRegistry().lookupByNameAndType("auditTrail", AuditTrail.class);
        await().until(() -> trail.backlog() == 0);
        long writtenBefore = trail.written();
        stopDatabase();
        ExecutorService clients = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> saves = new ArrayList<>();
            for (int i = 0; i < SAVES; i++) {
                int n = i;
                saves.add(clients.submit(() -> {
                    UUID user = newUser();
                    HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"c_" + n + "\",\"smsAgentId\":\"s_" + n
                            + "\"}");
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
                    users.add(user);
                }));
            }
            for (Future<?> f : saves) {
                f.get();
            }
        } finally {
            clients.shutdown();
            startDatabase();
            resetBreakers();
        }
        assertThat(users).hasSize(SAVES);

        // the pass the database's return started, and passes after it (a batch that found no free connection
        // in time is deferred to the next pass) until every entry is drained
        await().atMost(Duration.ofMinutes(2)).until(() -> {
            sync();
            return gauge("agentconfig.sync.pending.entries") == 0;
        });
        for (UUID user : users) {
            assertThat(localEntry(tenant, user)).isEmpty();
        }

        // right after the entries settled (no waiting for a background writer): one "sync" row per entry,
        // committed by the batch that wrote the entry's tables before the entry was settled
        List<Map<String, Object>> rows = query("SELECT a.user_id, a.success, a.details->>'result' AS result "
                + "FROM public.audit_log a WHERE a.event = 'sync' AND a.tenant_id = ?", tenant);
        Map<UUID, Integer> perUser = new HashMap<>();
        for (Map<String, Object> row : rows) {
            perUser.merge((UUID) row.get("user_id"), 1, Integer::sum);
            assertThat(row.get("success")).isEqualTo(true);
            assertThat(text(row, "result")).isEqualTo("drained");
        }
        assertThat(perUser.keySet()).isEqualTo(users);
        assertThat(perUser.values()).allMatch(n -> n == 1);
        // none went through the audit trail's queue: what its writer wrote since the outage began are the
        // parked saves' rows (the database was down: not written with them), nothing else
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(trail.written() - writtenBefore)
                .isEqualTo(count("SELECT count(*) AS n FROM public.audit_log WHERE tenant_id = ? AND event <> 'sync'",
                        tenant)));
        assertThat(count("SELECT count(*) AS n FROM public.audit_log WHERE tenant_id = ? AND event = 'save'", tenant))
                .isEqualTo(SAVES);
        assertThat(trail.dropped()).isZero();
        assertThat(logs.text()).doesNotContain("Audit queue full");
    }

    private long count(String sql, Object... args) {
        return ((Number) query(sql, args).get(0).get("n")).longValue();
    }
}
