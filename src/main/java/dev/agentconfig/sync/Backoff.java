package dev.agentconfig.sync;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * When an entry is tried again after a transient or schema-drift failure: exponential in the
 * number of attempts, with "equal jitter" (between half and all of the exponential delay) so that
 * entries parked together during one outage do not come back in lock-step, capped at the maximum.
 */
public final class Backoff {
    private final long baseMillis;
    private final long maxMillis;

    public Backoff(Duration base, Duration max) {
        if (base.isNegative() || base.isZero() || max.compareTo(base) < 0) {
            throw new IllegalArgumentException("backoff needs 0 < base <= max, got " + base + " and " + max);
        }
        this.baseMillis = base.toMillis();
        this.maxMillis = max.toMillis();
    }

    /** The delay after the given number of attempts (the first save counts as attempt 1). */
    public Duration delay(int attempts) {
        long ceiling = ceiling(attempts);
        long half = ceiling / 2;
        return Duration.ofMillis(half + ThreadLocalRandom.current().nextLong(ceiling - half + 1));
    }

    /** base * 2^(attempts-1), capped: the largest delay jitter can give for this attempt. */
    public long ceiling(int attempts) {
        int doublings = Math.max(0, Math.min(attempts - 1, 40));
        long exp = baseMillis;
        for (int i = 0; i < doublings && exp < maxMillis; i++) {
            exp *= 2;
        }
        return Math.min(exp, maxMillis);
    }
}
