package dev.agentconfig.sync;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import dev.agentconfig.core.UserKey;
import dev.agentconfig.store.DrainProgress;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.transport.Backend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The beginning and the end of a sync pass (route sync-pass); the entries in between go through the
 * split's steps of the same route, in batches of agentconfig.sync.batch-size (one transaction per batch on the jdbc transport). Passes never overlap: route sync-pass has one consumer (seda), which the timer and
 * POST /api/v1/sync both wait for.
 *
 * <p>Before anything is replayed the pass checks that the schema is migrated and the database answers;
 * if not it is skipped, so an outage does not charge every entry an attempt and push it into backoff
 * (when the database is back, everything is due at once).
 */
public final class SyncPass {
    private static final Logger LOG = LoggerFactory.getLogger(SyncPass.class);

    private final Backend backend;
    private final LocalStore store;
    private final SyncMetrics metrics;
    private final SyncTrigger trigger;
    private final int batchSize;
    private volatile String lastSkip;
    /** One "the database is out of reach" line per outage, however many passes it stops. */
    private final OutOfReachLog outOfReach = new OutOfReachLog();
    /** When the last pass began (skipped ones too: the timer is alive), for the watchdog; null before the first. */
    private volatile Instant lastStarted;
    /** The drain in progress: its summary line, the backlog check, the drain gauges, the diagnostics page. */
    private final DrainProgress progress;

    public SyncPass(Backend backend, LocalStore store, SyncMetrics metrics, SyncTrigger trigger, int batchSize,
                    DrainProgress progress) {
        this.batchSize = batchSize;
        this.progress = progress;
        this.backend = backend;
        this.store = store;
        this.metrics = metrics;
        this.trigger = trigger;
    }

    /** The entries due now, or why the pass is skipped. */
    public SyncPlan plan() {
        trigger.started();
        Instant started = Instant.now();
        lastStarted = started;
        if (!backend.ready()) {
            return skipped(started, "schema-not-migrated");
        }
        if (!backend.reachable()) {
            return skipped(started, "database-unreachable");
        }
        if (lastSkip != null) {
            LOG.info("Sync: passes resume; {} entries pending", store.pendingCount());
            lastSkip = null;
        }
        List<UserKey> due = store.dueKeys(started);
        progress.passStarted(due.size());
        return SyncPlan.of(started, due, batchSize, outOfReach);
    }

    /** When the last pass began (a skipped one too), if any did. */
    public Optional<Instant> lastStarted() {
        return Optional.ofNullable(lastStarted);
    }

    /** What the pass did: the answer of POST /api/v1/sync and the pass's log line. */
    public PassSummary summarize(SyncPlan plan) {
        Duration took = Duration.ofNanos(System.nanoTime() - plan.startNanos());
        PassSummary summary = PassSummary.of(plan.startedAt(), took, plan.skipped(), plan.replays().size(),
                List.copyOf(plan.outcomes()), store.pendingCount(), store.quarantinedCount());
        if (plan.skipped() != null) {
            return summary;
        }
        metrics.pass("completed", took);
        if (plan.replays().isEmpty()) {
            LOG.debug("Sync pass: nothing due ({} pending, {} quarantined)", summary.stillPending(),
                    summary.quarantinedInStore());
        } else {
            LOG.info("Sync pass: {}", summary);
        }
        drainProgress(plan, summary);
        // a backlog drains pass after pass, not one pass per interval
        if (!store.dueKeys(Instant.now()).isEmpty()) {
            if (!plan.stopped() && summary.count(ReplayOutcome.Result.DRAINED) > 0) {
                trigger.request("entries still due after a pass that drained "
                        + summary.count(ReplayOutcome.Result.DRAINED));
            } else if (plan.stopped() && backend.reachable()) {
                // stopped by a failure the database's answer does not explain (no pool connection in time):
                // try again shortly rather than at the next interval
                trigger.requestAfter(Duration.ofMillis(500), "the pass stopped while the database answers");
            }
        }
        return summary;
    }

    /**
     * "drained N in T s" once, when the local store has nothing pending any more; "paused" once when a pass
     * that had entries due drained none of them (the database went away again, or what is left is refused).
     */
    private void drainProgress(SyncPlan plan, PassSummary summary) {
        int drained = summary.count(ReplayOutcome.Result.DRAINED);
        progress.passEnded(plan.replays().size(), drained, summary.stillPending()).ifPresent(ended -> {
            String took = String.format(java.util.Locale.ROOT, "%.1f", ended.took().toMillis() / 1000.0);
            if (ended.finished() && ended.drained() > 0) {
                LOG.info("Sync: drained {} entries in {} s; nothing pending in the local store", ended.drained(), took);
            } else if (!ended.finished() && ended.drained() > 0) {
                LOG.info("Sync: drain paused after {} entries in {} s: the last pass drained none; {} pending",
                        ended.drained(), took, ended.pending());
            }
        });
    }

    private SyncPlan skipped(Instant started, String reason) {
        metrics.pass("skipped-" + (reason.startsWith("schema") ? "unmigrated" : "unreachable"), null);
        if (!reason.equals(lastSkip)) {
            LOG.warn("Sync pass skipped: {}; {} entries pending wait for the next pass", reason, store.pendingCount());
            lastSkip = reason;
        } else {
            LOG.debug("Sync pass skipped: {}", reason);
        }
        return SyncPlan.skipped(started, reason);
    }
}
