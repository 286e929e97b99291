package dev.agentconfig.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/** The system clock, shifted by an offset a test can change while the service runs (an NTP step). */
public final class SteppableClock extends Clock {
    private final AtomicReference<Duration> offset;

    public SteppableClock(Duration offset) {
        this.offset = new AtomicReference<>(offset);
    }

    public SteppableClock() {
        this(Duration.ZERO);
    }

    /** Moves the clock by {@code d} (negative: back). */
    public void step(Duration d) {
        offset.accumulateAndGet(d, Duration::plus);
    }

    @Override
    public Instant instant() {
        return Instant.now().plus(offset.get());
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }
}
