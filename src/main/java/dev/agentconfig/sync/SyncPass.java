package dev.agentconfig.sync;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

import dev.agentconfig.db.Backend;
import dev.agentconfig.store.EntryKey;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.sync.ReplayOutcome.Result;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One sync pass (route sync-pass): the due entries of the local store, each sent through route
 * replay-entry. Passes never overlap (the scheduled one and POST /api/v1/sync wait for each other).
 *
 * <p>Before anything is replayed the pass checks that the schema is migrated and the database
 * answers; if not it is skipped, so an outage does not charge every entry an attempt and push it
 * into backoff (when the database is back, everything is due at once). The first due entry is
 * replayed alone: it finds out whether the database takes writes and whether the target breakers
 * let calls through (they stay open until their own probe closes them); the others follow in
 * parallel. As soon as a replay finds the database out of reach (connection failure, breaker
 * open) the pass stops and the rest wait, untouched and not charged an attempt, for the next pass.
 */
public final class SyncPass {
    private static final Logger LOG = LoggerFactory.getLogger(SyncPass.class);

    private final Backend backend;
    private final LocalStore store;
    private final SyncSettings settings;
    private final SyncMetrics metrics;
    private final ReentrantLock passLock = new ReentrantLock(true);
    private volatile ProducerTemplate template;
    private volatile ExecutorService executor;
    private volatile String lastSkip;
    private volatile PassSummary lastCompleted;

    public SyncPass(Backend backend, LocalStore store, SyncSettings settings, SyncMetrics metrics) {
        this.backend = backend;
        this.store = store;
        this.settings = settings;
        this.metrics = metrics;
    }

    /** The step of route sync-pass: runs a pass; the body becomes its summary. */
    public Map<String, Object> run(Exchange exchange) throws InterruptedException {
        return pass(exchange.getContext()).toMap();
    }

    public PassSummary pass(CamelContext context) throws InterruptedException {
        passLock.lockInterruptibly();
        try {
            return passLocked(context);
        } finally {
            passLock.unlock();
        }
    }

    private PassSummary passLocked(CamelContext context) {
        Instant started = Instant.now();
        long t0 = System.nanoTime();
        if (!backend.ready()) {
            return skipped(started, "schema-not-migrated");
        }
        if (!backend.reachable()) {
            return skipped(started, "database-unreachable");
        }
        if (lastSkip != null) {
            LOG.info("Sync: the database is reachable again; {} entries pending", store.pendingCount());
            lastSkip = null;
        }
        List<EntryKey> due = store.dueKeys(started);
        List<ReplayOutcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        if (!due.isEmpty()) {
            AtomicBoolean stop = new AtomicBoolean();
            replayInto(context, due.get(0), outcomes, stop);
            List<EntryKey> rest = due.subList(1, due.size());
            if (settings.parallelism() == 1) {
                rest.forEach(k -> replayInto(context, k, outcomes, stop));
            } else {
                ExecutorService pool = executor(context);
                CompletableFuture.allOf(rest.stream()
                        .map(k -> CompletableFuture.runAsync(() -> replayInto(context, k, outcomes, stop), pool))
                        .toArray(CompletableFuture[]::new)).join();
            }
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        PassSummary summary = PassSummary.of(started, took, null, due.size(), outcomes, store.pendingCount(),
                store.quarantinedCount());
        metrics.pass("completed", took);
        lastCompleted = summary;
        if (due.isEmpty()) {
            LOG.debug("Sync pass: nothing due ({} pending, {} quarantined)", summary.stillPending(),
                    summary.quarantinedInStore());
        } else {
            LOG.info("Sync pass: {}", summary);
        }
        return summary;
    }

    /** The last pass that ran (not skipped), if any: for health and diagnostics. */
    public java.util.Optional<PassSummary> lastCompleted() {
        return java.util.Optional.ofNullable(lastCompleted);
    }

    private void replayInto(CamelContext context, EntryKey key, List<ReplayOutcome> outcomes, AtomicBoolean stop) {
        if (stop.get()) {
            outcomes.add(ReplayOutcome.of(key, Result.DEFERRED));
            return;
        }
        ReplayOutcome outcome = replay(context, key);
        outcomes.add(outcome);
        if (outcome.unreachable() && !stop.getAndSet(true)) {
            LOG.warn("Sync: the database is out of reach ({}); the rest of this pass waits for the next one",
                    outcome.failure() == null ? "breaker open" : outcome.failure().code() + " " + outcome.failure().message());
        }
    }

    private ReplayOutcome replay(CamelContext context, EntryKey key) {
        Exchange done = template(context).request("direct:replay-entry", ex -> ex.getMessage().setBody(key));
        if (done.getException() != null) {
            LOG.error("Sync: replay of local entry {} failed unexpectedly; it stays as it was", key,
                    done.getException());
            return ReplayOutcome.of(key, Result.FAILED);
        }
        ReplayOutcome outcome = done.getProperty(SyncSteps.OUTCOME_PROPERTY, ReplayOutcome.class);
        return outcome == null ? ReplayOutcome.of(key, Result.FAILED) : outcome;
    }

    private PassSummary skipped(Instant started, String reason) {
        metrics.pass("skipped-" + (reason.startsWith("schema") ? "unmigrated" : "unreachable"), null);
        long pending = store.pendingCount();
        if (!reason.equals(lastSkip)) {
            LOG.warn("Sync pass skipped: {}; {} entries pending wait for the next pass", reason, pending);
            lastSkip = reason;
        } else {
            LOG.debug("Sync pass skipped: {}", reason);
        }
        return PassSummary.of(started, Duration.between(started, Instant.now()), reason, 0, List.of(), pending,
                store.quarantinedCount());
    }

    private ProducerTemplate template(CamelContext context) {
        ProducerTemplate t = template;
        if (t == null) {
            synchronized (this) {
                if (template == null) {
                    template = context.createProducerTemplate();
                }
                t = template;
            }
        }
        return t;
    }

    private ExecutorService executor(CamelContext context) {
        ExecutorService e = executor;
        if (e == null) {
            synchronized (this) {
                if (executor == null) {
                    // owned by Camel's executor manager: shut down with the context
                    executor = context.getExecutorServiceManager()
                            .newFixedThreadPool(this, "sync-replay", settings.parallelism());
                }
                e = executor;
            }
        }
        return e;
    }
}
