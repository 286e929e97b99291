package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;

class BackoffTest {
    private final Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofMinutes(5));

    @Test
    void doublesWithEveryAttemptUpToFiveMinutes() {
        assertThat(backoff.ceiling(1)).isEqualTo(1_000);
        assertThat(backoff.ceiling(2)).isEqualTo(2_000);
        assertThat(backoff.ceiling(3)).isEqualTo(4_000);
        assertThat(backoff.ceiling(9)).isEqualTo(256_000);
        assertThat(backoff.ceiling(10)).isEqualTo(300_000);
        assertThat(backoff.ceiling(1_000_000)).isEqualTo(300_000);
    }

    @Test
    void jitterStaysBetweenHalfAndAllOfTheCeilingAndNeverPassesTheCap() {
        Set<Long> seen = new HashSet<>();
        for (int attempts = 1; attempts <= 40; attempts++) {
            for (int i = 0; i < 200; i++) {
                long ms = backoff.delay(attempts).toMillis();
                long ceiling = backoff.ceiling(attempts);
                assertThat(ms).isBetween(ceiling / 2, ceiling).isLessThanOrEqualTo(Duration.ofMinutes(5).toMillis());
                if (attempts == 12) {
                    seen.add(ms);
                }
            }
        }
        // entries parked together by one outage do not come back in lock-step
        assertThat(seen.size()).isGreaterThan(100);
    }

    @Test
    void refusesANonsensicalConfiguration() {
        assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofMinutes(5))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Backoff(Duration.ofMinutes(10), Duration.ofMinutes(5))).isInstanceOf(IllegalArgumentException.class);
    }
}
