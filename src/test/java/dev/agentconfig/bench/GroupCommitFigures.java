package dev.agentconfig.bench;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import dev.agentconfig.core.Changes;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.core.Origin;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.db.GroupCommitSettings;
import dev.agentconfig.db.JdbcTargetWrites;
import dev.agentconfig.save.IdempotencySettings;
import dev.agentconfig.save.SaveAudit;
import dev.agentconfig.testing.ServiceTestSupport;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.TargetWrites;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Does the group commit batch? (On demand: {@code mvn -B -o -Pbench verify -Dit.test=none -Dtest=GroupCommitFigures},
 * or with -Dtest alone after removing the bench exclusion.) Side by side in one run, on the service's embedded
 * PostgreSQL (fsync on): the same port ({@link JdbcTargetWrites}) with its writers and queue (group commits), and
 * an instance that is not started, so that each caller writes its own save in its own transaction (one save per
 * commit, as before the group commit); then whole saves through route direct:save. For 1, 8 and 32 clients:
 * saves/s, p50, the mean group size and the commits per save from pg_stat_database.
 */
class GroupCommitFigures extends ServiceTestSupport {
    private static final double SECONDS = 5;

    private long commits() {
        return ((Number) query("SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()")
                .get(0).get("n")).longValue();
    }

    @Test
    void groupSizesAndCommitsPerSave() throws Exception {
        HybridLogicalClock clock = context.getRegistry().lookupByNameAndType("versionClock", HybridLogicalClock.class);
        JdbcTargetWrites grouped = context.getRegistry().lookupByNameAndType("transportWrites", JdbcTargetWrites.class);
        MeterRegistry meters = context.getRegistry().lookupByNameAndType("meterRegistry", MeterRegistry.class);
        DistributionSummary sizes = meters.get("agentconfig.save.group.size").summary();
        // not started: every caller writes its own save, in its own transaction, on its own thread
        JdbcTargetWrites alone = new JdbcTargetWrites(dataSource(), new FailureClassifier(),
                new GroupCommitSettings(1, 1, 1, Duration.ofSeconds(10)),
                new IdempotencySettings(Duration.ofHours(24), 1000), Clock.systemUTC(), new SimpleMeterRegistry());
        String tenant = newTenant();
        List<UUID> users = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            users.add(newUser());
        }
        List<String> rows = new ArrayList<>();
        // warm-up
        port(grouped, clock, tenant, users, 8, 2);
        port(alone, clock, tenant, users, 8, 2);
        for (int clients : new int[] {1, 8, 32}) {
            for (int round = 0; round < 2; round++) {
                for (String mode : new String[] {"port, one save per transaction", "port, group commit",
                        "direct:save, group commit"}) {
                    long c0 = commits();
                    long n0 = sizes.count();
                    double s0 = sizes.totalAmount();
                    Load.Result r = mode.startsWith("direct") ? Load.run(clients, SECONDS, seq -> {
                        UUID user = users.get((int) (seq % users.size()));
                        saveRoute(tenant, user, "{\"callAgentId\":\"c" + seq + "\",\"smsAgentId\":\"s" + seq + "\"}");
                    }) : port(mode.contains("group") ? grouped : alone, clock, tenant, users, clients, SECONDS);
                    long commits = commits() - c0;
                    long groups = sizes.count() - n0;
                    double saves = sizes.totalAmount() - s0;
                    rows.add(String.format("| %d | %s | %.0f | %.2f | %s | %.2f |", clients, mode, r.throughput(),
                            r.percentileMs(50), mode.contains("one save") ? "1" : String.format("%.1f",
                                    groups == 0 ? Double.NaN : saves / groups),
                            commits / (double) r.operations()));
                }
            }
        }
        LoggerFactory.getLogger(GroupCommitFigures.class).info("Group commit, side by side:\n"
                + "| clients | write | saves/s | p50 ms | mean group | commits per save |\n|---|---|---|---|---|---|\n{}",
                String.join("\n", rows));
    }

    private static Load.Result port(TargetWrites writes, HybridLogicalClock clock, String tenant, List<UUID> users,
                                    int clients, double seconds) throws InterruptedException {
        return Load.run(clients, seconds, seq -> {
            UUID user = users.get((int) (seq % users.size()));
            SealedSave save = SealedSave.of(UserKey.of(tenant, user.toString()), UUID.randomUUID(), clock.next(),
                    Changes.of(Map.of(Field.CALL_AGENT_ID, "c" + seq, Field.SMS_AGENT_ID, "s" + seq)), Origin.HTTP,
                    true);
            writes.write(List.of(WriteResult.of(save)), SaveAudit::whenEveryTargetSaved);
        });
    }
}
