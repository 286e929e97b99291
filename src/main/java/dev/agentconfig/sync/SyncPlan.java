package dev.agentconfig.sync;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.agentconfig.core.UserKey;

/**
 * One sync pass while it runs: the entries that were due when it began (or why it was skipped), in
 * batches (route sync-pass's split, each batch to route replay-batch: one transaction per batch on the jdbc transport), and what became of each. As soon as a replay finds the database out of reach the pass stops: the entries
 * not yet replayed wait, untouched and not charged an attempt, for the next pass.
 *
 * The pass is skipped (null {@link #skipped()} when it runs) when the schema is not migrated or the
 * database does not answer.
 */
public final class SyncPlan {
    private final Instant startedAt;
    private final long startNanos;
    private final String skipped;
    private final List<Replay> replays;
    private final List<Batch> batches;
    private final List<ReplayOutcome> outcomes;
    private final AtomicBoolean stop;
    private final OutOfReachLog outOfReach;

    private SyncPlan(Instant startedAt, long startNanos, String skipped, List<Replay> replays, List<Batch> batches,
                     List<ReplayOutcome> outcomes, AtomicBoolean stop, OutOfReachLog outOfReach) {
        this.outOfReach = outOfReach;
        this.startedAt = startedAt;
        this.startNanos = startNanos;
        this.skipped = skipped;
        this.replays = replays;
        this.batches = batches;
        this.outcomes = outcomes;
        this.stop = stop;
    }

    public Instant startedAt() {
        return startedAt;
    }

    public long startNanos() {
        return startNanos;
    }

    public String skipped() {
        return skipped;
    }

    public List<Replay> replays() {
        return replays;
    }

    public List<ReplayOutcome> outcomes() {
        return outcomes;
    }

    /** The due entries in batches of at most the configured size, in the order they were planned. */
    public List<Batch> batches() {
        return batches;
    }

    /** One due entry of this pass: what the sync-pass split's steps take, in its batch. */
    public record Replay(UserKey key, SyncPlan plan) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Replay r && r.key.equals(key) && r.plan == plan;
        }

        @Override
        public int hashCode() {
            return key.hashCode();
        }

        @Override
        public String toString() {
            return "Replay[" + key + "]";
        }
    }

    /** Due entries replayed together: what one branch of the sync-pass split takes. */
    public record Batch(List<Replay> replays, SyncPlan plan) {
        public Batch {
            replays = List.copyOf(replays);
        }

        public List<UserKey> keys() {
            return replays.stream().map(Replay::key).toList();
        }

        @Override
        public boolean equals(Object o) {
            return o == this;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }

        @Override
        public String toString() {
            return "Batch[" + replays.size() + " entries]";
        }
    }

    /** outOfReach: the sync's one "out of reach" line per outage, shared by its passes. */
    static SyncPlan of(Instant startedAt, List<UserKey> due, int batchSize, OutOfReachLog outOfReach) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        List<Replay> replays = new ArrayList<>();
        List<Batch> batches = new ArrayList<>();
        SyncPlan plan = new SyncPlan(startedAt, System.nanoTime(), null, Collections.unmodifiableList(replays),
                Collections.unmodifiableList(batches), Collections.synchronizedList(new ArrayList<>()),
                new AtomicBoolean(), outOfReach);
        due.forEach(k -> replays.add(new Replay(k, plan)));
        for (int from = 0; from < replays.size(); from += batchSize) {
            batches.add(new Batch(replays.subList(from, Math.min(replays.size(), from + batchSize)), plan));
        }
        return plan;
    }

    static SyncPlan skipped(Instant startedAt, String reason) {
        return new SyncPlan(startedAt, System.nanoTime(), reason, List.of(), List.of(), List.of(),
                new AtomicBoolean(true), new OutOfReachLog());
    }

    /**
     * A replay's outcome; the first one that found the database out of reach stops the pass (logged once per
     * outage: {@link OutOfReachLog}).
     */
    public void record(ReplayOutcome outcome) {
        outcomes.add(outcome);
        if (outcome.unreachable()) {
            if (!stop.getAndSet(true)) {
                outOfReach.stopped(outcome);
            }
        } else if (reachedTheDatabase(outcome.result())) {
            outOfReach.reached();
        }
    }

    private static boolean reachedTheDatabase(ReplayOutcome.Result result) {
        return switch (result) {
            case DRAINED, PARTIAL, QUARANTINED, CHANGED -> true;
            case RETRYING, DEFERRED, GONE, FAILED -> false;
        };
    }

    /** The pass found the database out of reach: the replays not yet started are deferred. */
    public boolean stopped() {
        return stop.get();
    }

    @Override
    public String toString() {
        return "SyncPlan[" + (skipped == null ? replays.size() + " due" : "skipped " + skipped) + "]";
    }
}
