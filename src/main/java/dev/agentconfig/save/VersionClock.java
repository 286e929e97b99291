package dev.agentconfig.save;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/** Microseconds since the epoch, strictly increasing within this process. */
public final class VersionClock {
    private final AtomicLong last = new AtomicLong();

    public long next() {
        Instant now = Instant.now();
        long micros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000L;
        return last.updateAndGet(prev -> Math.max(prev + 1, micros));
    }
}
