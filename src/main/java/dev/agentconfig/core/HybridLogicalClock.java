package dev.agentconfig.core;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Field versions: microseconds since the epoch from a hybrid logical clock. A version is never below
 * the wall clock, strictly above every version this clock issued, and strictly above every version it
 * has {@linkplain #observe observed} (what a table answered it holds), so a wall clock that steps
 * back, or an instance whose clock is behind another's, cannot make a new save older than what it
 * follows. A version more than {@code maxLead} ahead of the wall clock is not adopted: a writer that
 * got its units wrong must not drag every later version along.
 */
public final class HybridLogicalClock {
    public static final Duration DEFAULT_MAX_LEAD = Duration.ofHours(24);

    /** What {@link #observe} made of a version. */
    public enum Observation {
        /** It was ahead: the clock follows it now. */
        ADOPTED,
        /** The clock was already past it. */
        BEHIND,
        /** It is implausibly far ahead of the wall clock: not adopted. */
        TOO_FAR_AHEAD
    }

    private final Clock wall;
    private final long maxLeadMicros;
    private final AtomicLong last = new AtomicLong();

    public HybridLogicalClock() {
        this(Clock.systemUTC(), DEFAULT_MAX_LEAD);
    }

    public HybridLogicalClock(Clock wall, Duration maxLead) {
        this.wall = wall;
        this.maxLeadMicros = maxLead.toNanos() / 1_000L;
    }

    public static long micros(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000L);
    }

    public static Instant instant(long version) {
        return Instant.ofEpochSecond(Math.floorDiv(version, 1_000_000L), Math.floorMod(version, 1_000_000L) * 1_000L);
    }

    public long wallMicros() {
        return micros(wall.instant());
    }

    public Instant now() {
        return wall.instant();
    }

    public Duration maxLead() {
        return Duration.ofNanos(maxLeadMicros * 1_000L);
    }

    /** A new version: above every version issued or observed, and not below the wall clock. */
    public long next() {
        long micros = wallMicros();
        return last.updateAndGet(prev -> Math.max(prev + 1, micros));
    }

    /** A version seen stored somewhere: later versions will be above it (unless it is implausible). */
    public Observation observe(long version) {
        if (version - wallMicros() > maxLeadMicros) {
            return Observation.TOO_FAR_AHEAD;
        }
        return last.getAndAccumulate(version, Math::max) < version ? Observation.ADOPTED : Observation.BEHIND;
    }

    /** The highest version issued or observed so far. */
    public long current() {
        return last.get();
    }
}
