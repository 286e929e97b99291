package dev.agentconfig.api;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Request rate limits, one token bucket per key: the limit is the bucket's size and it refills
 * evenly over the window. Keys are what the server knows for sure: the client address (the TCP
 * peer unless agentconfig.http.trust-forwarded-for), the service token, a user JWT's tenant and
 * subject. Nothing the caller merely claims becomes a key.
 */
public final class RateLimits {
    /** Buckets idle this many windows are full again and forgotten. */
    private static final int SWEEP_EVERY = 4096;

    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
    private final long windowNanos;
    private final LongSupplier nanoTime;
    private final AtomicLong calls = new AtomicLong();

    public RateLimits(Duration window) {
        this(window, System::nanoTime);
    }

    RateLimits(Duration window, LongSupplier nanoTime) {
        this.windowNanos = window.toNanos();
        this.nanoTime = nanoTime;
    }

    /**
     * Takes one request from the key's bucket of {@code limit} requests per window.
     *
     * @return 0 when the request may go ahead, otherwise the seconds until it may be retried (at least 1)
     */
    public long acquire(String key, int limit) {
        if (limit <= 0) {
            return 0;
        }
        long now = nanoTime.getAsLong();
        if (calls.incrementAndGet() % SWEEP_EVERY == 0) {
            buckets.values().removeIf(b -> b.idleSince(now) > windowNanos);
        }
        Bucket bucket = buckets.computeIfAbsent(key, k -> new Bucket(limit, now));
        long waitNanos = bucket.take(limit, windowNanos, now);
        return waitNanos == 0 ? 0 : Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L);
    }

    int size() {
        return buckets.size();
    }

    private static final class Bucket {
        private double tokens;
        private long updated;

        Bucket(int limit, long now) {
            this.tokens = limit;
            this.updated = now;
        }

        synchronized long idleSince(long now) {
            return now - updated;
        }

        /** 0 = taken; otherwise the nanoseconds until one token is there. */
        synchronized long take(int limit, long windowNanos, long now) {
            double perNano = (double) limit / windowNanos;
            tokens = Math.min(limit, tokens + (now - updated) * perNano);
            updated = now;
            if (tokens >= 1) {
                tokens -= 1;
                return 0;
            }
            return (long) Math.ceil((1 - tokens) / perNano);
        }
    }
}
