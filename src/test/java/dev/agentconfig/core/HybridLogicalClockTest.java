package dev.agentconfig.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import dev.agentconfig.testing.SteppableClock;
import org.junit.jupiter.api.Test;

/** The hybrid logical clock under the versions. */
class HybridLogicalClockTest {
    private final SteppableClock wall = new SteppableClock();
    private final HybridLogicalClock clock = new HybridLogicalClock(wall, Duration.ofHours(24));

    private static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000L;
    }

    @Test
    void neverBelowTheWallClock() {
        long before = micros(Instant.now());
        long v = clock.next();
        assertThat(v).isGreaterThanOrEqualTo(before).isLessThanOrEqualTo(micros(Instant.now()));
        wall.step(Duration.ofMinutes(5));
        assertThat(clock.next()).isGreaterThanOrEqualTo(before + Duration.ofMinutes(5).toNanos() / 1000);
    }

    @Test
    void strictlyIncreasingWhenTheWallClockStepsBack() {
        long first = clock.next();
        wall.step(Duration.ofHours(-1));
        long second = clock.next();
        long third = clock.next();
        assertThat(second).isGreaterThan(first);
        assertThat(third).isGreaterThan(second);
    }

    @Test
    void aVersionSeenAheadIsFollowed() {
        long ahead = micros(Instant.now().plus(Duration.ofHours(1)));
        assertThat(clock.observe(ahead)).isEqualTo(HybridLogicalClock.Observation.ADOPTED);
        assertThat(clock.next()).isGreaterThan(ahead);
        // seen again, or an older one: the clock is already past it
        assertThat(clock.observe(ahead)).isNotEqualTo(HybridLogicalClock.Observation.ADOPTED);
        assertThat(clock.observe(ahead - 1_000_000)).isNotEqualTo(HybridLogicalClock.Observation.ADOPTED);
    }

    @Test
    void aVersionBehindIsNoNews() {
        long v = clock.next();
        assertThat(clock.observe(v - 10)).isNotEqualTo(HybridLogicalClock.Observation.ADOPTED);
        assertThat(clock.observe(v)).isNotEqualTo(HybridLogicalClock.Observation.ADOPTED);
        assertThat(clock.current()).isEqualTo(v);
        assertThat(clock.next()).isGreaterThan(v);
    }

    @Test
    void aVersionImplausiblyFarAheadIsNotAdopted() {
        long farAhead = micros(Instant.now().plus(Duration.ofDays(3)));
        assertThat(clock.observe(farAhead)).isNotEqualTo(HybridLogicalClock.Observation.ADOPTED);
        assertThat(clock.next()).isLessThan(farAhead).isLessThan(micros(Instant.now().plus(Duration.ofMinutes(1))));
    }

    @Test
    void concurrentCallersNeverShareAVersion() throws Exception {
        Set<Long> seen = ConcurrentHashMap.newKeySet();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        for (int t = 0; t < 8; t++) {
            pool.submit(() -> {
                for (int i = 0; i < 10_000; i++) {
                    seen.add(clock.next());
                    if (i % 1000 == 0) {
                        clock.observe(clock.wallMicros() + 5_000);
                    }
                }
            });
        }
        pool.shutdown();
        assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        assertThat(seen).hasSize(80_000);
    }
}
