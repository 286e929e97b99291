package dev.agentconfig.core;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Field versions: microseconds since the epoch from a hybrid logical clock. A version is never below
 * the wall clock, strictly increasing within the process, and never below a version this process has
 * seen stored ({@link #observe}), so a clock that steps back, or an instance whose clock lags, cannot
 * make a new save lose to an older one.
 */
public final class HybridLogicalClock {
    private final LongSupplier wallMicros;
    private final AtomicLong last = new AtomicLong();

    public HybridLogicalClock() {
        this(HybridLogicalClock::systemMicros);
    }

    public HybridLogicalClock(LongSupplier wallMicros) {
        this.wallMicros = wallMicros;
    }

    public static long systemMicros() {
        return micros(Instant.now());
    }

    public static long micros(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000L);
    }

    public static Instant instant(long version) {
        return Instant.ofEpochSecond(Math.floorDiv(version, 1_000_000L), Math.floorMod(version, 1_000_000L) * 1_000L);
    }

    /** The next version: above every version issued or observed, and not below the wall clock. */
    public long next() {
        long wall = wallMicros.getAsLong();
        return last.updateAndGet(prev -> Math.max(prev + 1, wall));
    }

    /** A version seen stored somewhere: later versions will be above it. */
    public void observe(long seen) {
        last.accumulateAndGet(seen, Math::max);
    }

    public long wallMicros() {
        return wallMicros.getAsLong();
    }
}
