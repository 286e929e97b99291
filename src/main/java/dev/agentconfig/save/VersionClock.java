package dev.agentconfig.save;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The versions of saves: a hybrid logical clock in microseconds since the epoch. A version is
 * never below the wall clock, strictly above every version this clock issued, and strictly above
 * every version it has {@linkplain #observe observed} (what a table answered it holds), so a wall
 * clock that steps back, or an instance whose clock is behind another's, cannot make a new save
 * older than what it follows. A version more than {@code maxLead} ahead of the wall clock is not
 * adopted (a writer that got its units wrong must not drag every later version along).
 */
public final class VersionClock {
    private static final Logger LOG = LoggerFactory.getLogger(VersionClock.class);
    public static final Duration DEFAULT_MAX_LEAD = Duration.ofHours(24);

    private final Clock wall;
    private final long maxLeadMicros;
    private final AtomicLong last = new AtomicLong();

    public VersionClock() {
        this(Clock.systemUTC(), DEFAULT_MAX_LEAD);
    }

    public VersionClock(Clock wall, Duration maxLead) {
        this.wall = wall;
        this.maxLeadMicros = maxLead.toNanos() / 1_000L;
    }

    public long wallMicros() {
        Instant now = wall.instant();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000L;
    }

    /** A new version: above every version issued or observed, and not below the wall clock. */
    public long next() {
        long micros = wallMicros();
        return last.updateAndGet(prev -> Math.max(prev + 1, micros));
    }

    /**
     * A version seen in the database. Returns true when it was ahead of this clock (which now
     * follows it: the next version is above it), false when the clock was already past it, or
     * when it is implausibly far ahead of the wall clock (then it is not adopted, and logged).
     */
    public boolean observe(long version) {
        long lead = version - wallMicros();
        if (lead > maxLeadMicros) {
            LOG.warn("A stored version is {} s ahead of this instance's clock (more than the {} s allowed by "
                    + "agentconfig.save.max-clock-lead): not adopted; saves of that field answer stale until the "
                    + "clocks agree", lead / 1_000_000L, maxLeadMicros / 1_000_000L);
            return false;
        }
        return last.getAndAccumulate(version, Math::max) < version;
    }

    /** The highest version issued or observed so far. */
    public long current() {
        return last.get();
    }
}
