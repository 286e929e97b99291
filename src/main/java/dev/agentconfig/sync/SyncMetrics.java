package dev.agentconfig.sync;

import java.time.Duration;
import java.time.Instant;

import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.store.DrainProgress;
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
 * <li>{@code agentconfig_sync_passes_total{outcome}} and {@code agentconfig_sync_pass_seconds};</li>
 * <li>{@code agentconfig_sync_drained_total}, {@code agentconfig_sync_drain_running},
 *     {@code agentconfig_sync_drain_rate} (entries/s) and {@code agentconfig_sync_drain_eta_seconds}.</li>
 * </ul>
 * The gauges read the local store's in-memory index: a scrape never touches the disk.
 */
public final class SyncMetrics {
    private final MeterRegistry registry;
    private final DrainProgress drain;
    private final Counter drainedCounter;

    public SyncMetrics(MeterRegistry registry, LocalStore store, DrainProgress drain) {
        this.registry = registry;
        this.drain = drain;
        this.drainedCounter = Counter.builder("agentconfig.sync.drained")
                .description("local-store entries drained into the database")
                .register(registry);
        Gauge.builder("agentconfig.sync.drain.running", drain, d -> d.current(0).isPresent() ? 1 : 0)
                .description("1 while the backlog drains into the database")
                .register(registry);
        Gauge.builder("agentconfig.sync.drain.rate", drain, d -> d.current(store.pendingCount())
                        .map(s -> s.perSecond() == null ? Double.NaN : s.perSecond()).orElse(0.0))
                .description("entries drained per second over the last 10 s of the drain (0 when none runs, "
                        + "NaN until measured)")
                .register(registry);
        Gauge.builder("agentconfig.sync.drain.eta", drain, d -> d.current(store.pendingCount())
                        .map(s -> s.etaSeconds() == null ? Double.NaN : s.etaSeconds().doubleValue()).orElse(0.0))
                .description("seconds until the backlog is drained at the current rate (0 when no drain runs, "
                        + "NaN until measured)")
                .baseUnit("seconds")
                .register(registry);
        Gauge.builder("agentconfig.sync.pending.entries", store, LocalStore::pendingCount)
                .description("local-store entries waiting for the database")
                .register(registry);
        Gauge.builder("agentconfig.sync.oldest.pending.age", store, s -> s.oldestPending()
                        .map(t -> Math.max(0, Duration.between(t, Instant.now()).toMillis()) / 1000.0)
                        .orElse(0.0))
                .description("age of the oldest pending local-store entry")
                .baseUnit("seconds")
                .register(registry);
        Gauge.builder("agentconfig.sync.oldest.quarantined.age", store, s -> s.oldestQuarantined()
                        .map(t -> Math.max(0, Duration.between(t, Instant.now()).toMillis()) / 1000.0)
                        .orElse(0.0))
                .description("age of the oldest quarantined local-store entry (the other parking place)")
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

    /** An entry drained (removed from the local store after both targets took it): the counter and the drain's progress. */
    public void drained() {
        drainedCounter.increment();
        drain.entryDrained();
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
