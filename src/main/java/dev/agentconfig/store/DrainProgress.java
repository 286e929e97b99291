package dev.agentconfig.store;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The progress of the local store's backlog draining into the database, entry by entry as the sync settles them:
 * a drain starts with the first pass that finds entries due while the database answers, and ends when
 * nothing is pending any more (finished) or a pass drains nothing although entries were due (paused:
 * the database went away again, or what is left waits for its backoff or an operator). The backlog
 * health check, the drain gauges and the diagnostics page's progress bar read it; it holds counts and
 * times only, nothing of any entry.
 *
 * <p>The rate is taken over the last {@value #WINDOW_SECONDS} seconds of the drain, the ETA is pending / rate.
 */
public final class DrainProgress {
    static final int WINDOW_SECONDS = 10;

    /** What a drain looks like right now; {@code perSecond} and {@code etaSeconds} are null until measured. */
    public record Snapshot(Instant startedAt, long drained, long pending, Double perSecond, Long etaSeconds) {
        /** Drained of what there was to drain, 0 to 100. */
        public int percent() {
            long total = drained + pending;
            return total == 0 ? 100 : (int) Math.min(100, drained * 100 / total);
        }

        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("startedAt", startedAt.toString());
            m.put("drained", drained);
            m.put("pending", pending);
            m.put("percent", percent());
            m.put("drainedPerSecond", perSecond == null ? null : Math.round(perSecond * 10) / 10.0);
            m.put("etaSeconds", etaSeconds);
            return m;
        }
    }

    /** A drain that ended: how many entries it drained, in how long, and how many are still pending. */
    public record Ended(long drained, Duration took, long pending) {
        public boolean finished() {
            return pending == 0;
        }
    }

    private record Sample(Instant at, long drained) {
    }

    private final Clock clock;
    private Instant startedAt;
    private long drained;
    private final Deque<Sample> samples = new ArrayDeque<>();

    public DrainProgress() {
        this(Clock.systemUTC());
    }

    DrainProgress(Clock clock) {
        this.clock = clock;
    }

    /** A pass is about to replay {@code due} entries (the database answers). */
    public synchronized void passStarted(int due) {
        if (startedAt == null && due > 0) {
            startedAt = clock.instant();
            drained = 0;
            samples.clear();
            samples.add(new Sample(startedAt, 0));
        }
    }

    /** One entry drained (both targets took it, the entry is gone): counted the moment it is settled. */
    public synchronized void entryDrained() {
        if (startedAt == null) {
            return;
        }
        Instant now = clock.instant();
        drained++;
        Sample last = samples.peekLast();
        if (last != null && samples.size() > 1 && Duration.between(last.at(), now).toMillis() < 100) {
            samples.pollLast(); // one sample per 100 ms at most
        }
        samples.add(new Sample(now, drained));
        while (samples.size() > 2 && samples.peekFirst().at().isBefore(now.minusSeconds(WINDOW_SECONDS))) {
            samples.pollFirst();
        }
    }

    /**
     * A pass that replayed {@code replayed} entries drained {@code drainedNow} of them; {@code pending} are
     * left. The drain that ends with this pass, if one does.
     */
    public synchronized Optional<Ended> passEnded(int replayed, int drainedNow, long pending) {
        if (startedAt == null) {
            return Optional.empty();
        }
        if (pending == 0 || (replayed > 0 && drainedNow == 0)) {
            Ended ended = new Ended(drained, Duration.between(startedAt, clock.instant()), pending);
            startedAt = null;
            samples.clear();
            return Optional.of(ended);
        }
        return Optional.empty();
    }

    /** The drain in progress with {@code pending} entries left, or empty when none runs. */
    public synchronized Optional<Snapshot> current(long pending) {
        if (startedAt == null) {
            return Optional.empty();
        }
        Sample first = samples.peekFirst();
        Sample last = samples.peekLast();
        Double perSecond = null;
        Long eta = null;
        double seconds = Duration.between(first.at(), last.at()).toMillis() / 1000.0;
        if (last.drained() > first.drained() && seconds > 0) {
            perSecond = (last.drained() - first.drained()) / seconds;
            eta = (long) Math.ceil(pending / perSecond);
        }
        return Optional.of(new Snapshot(startedAt, drained, pending, perSecond, eta));
    }
}
