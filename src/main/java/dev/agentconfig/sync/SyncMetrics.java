package dev.agentconfig.sync;

import java.time.Duration;
import java.time.Instant;

import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.store.LocalStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The sync's meters on the service's registry (exported in Prometheus format by the front door):
 * <ul>
 * <li>{@code agentconfig_sync_pending_entries} — local entries waiting for the database;</li>
 * <li>{@code agentconfig_sync_oldest_pending_age_seconds} — how long the oldest of them has waited;</li>
 * <li>{@code agentconfig_sync_quarantined_entries} — entries refused by the database, waiting for an operator;</li>
 * <li>{@code agentconfig_sync_replays_total{target,result}} — target replays by result
 *     (saved, stale, queued, quarantined, skipped, deferred);</li>
 * <li>{@code agentconfig_sync_passes_total{outcome}} and {@code agentconfig_sync_pass_seconds}.</li>
 * </ul>
 * The gauges read the local store's in-memory index: a scrape never touches the disk.
 */
public final class SyncMetrics {
    private final MeterRegistry registry;

    public SyncMetrics(MeterRegistry registry, LocalStore store) {
        this.registry = registry;
        Gauge.builder("agentconfig.sync.pending.entries", store, LocalStore::pendingCount)
                .description("local-store entries waiting for the database")
                .register(registry);
        Gauge.builder("agentconfig.sync.oldest.pending.age", store, s -> s.oldestPending()
                        .map(t -> Math.max(0, Duration.between(t, Instant.now()).toMillis()) / 1000.0)
                        .orElse(0.0))
                .description("age of the oldest pending local-store entry")
                .baseUnit("seconds")
                .register(registry);
        Gauge.builder("agentconfig.sync.quarantined.entries", store, LocalStore::quarantinedCount)
                .description("local-store entries refused by the database, waiting for POST .../retry")
                .register(registry);
    }

    public void replayed(Target target, TargetState state) {
        replayed(target, state.id());
    }

    /** A target replay that was not attempted because the pass stopped or the breaker was open. */
    public void replayed(Target target, String result) {
        Counter.builder("agentconfig.sync.replays")
                .description("replays of a local-store entry to one target, by result")
                .tag("target", target.table())
                .tag("result", result)
                .register(registry)
                .increment();
    }

    /** Entries drained (removed from the local store after both targets took them), for the drain rate. */
    public void drained(int entries) {
        if (entries > 0) {
            Counter.builder("agentconfig.sync.drained")
                    .description("local-store entries drained into the database")
                    .register(registry)
                    .increment(entries);
        }
    }

    public void pass(String outcome, Duration took) {
        Counter.builder("agentconfig.sync.passes")
                .description("sync passes by outcome (completed, skipped-unmigrated, skipped-unreachable)")
                .tag("outcome", outcome)
                .register(registry)
                .increment();
        if (took != null) {
            Timer.builder("agentconfig.sync.pass")
                    .description("duration of the sync passes that ran")
                    .register(registry)
                    .record(took);
        }
    }
}
