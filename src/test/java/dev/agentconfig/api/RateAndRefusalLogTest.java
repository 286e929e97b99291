package dev.agentconfig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import dev.agentconfig.testing.LogCapture;
import org.junit.jupiter.api.Test;

/** The token buckets and the refusal log on a stepped clock. */
class RateAndRefusalLogTest {

    @Test
    void aBucketRefusesOverItsLimitSaysWhenToRetryAndRefills() {
        AtomicLong now = new AtomicLong(1_000_000_000L);
        RateLimits rates = new RateLimits(Duration.ofSeconds(10), now::get);
        for (int i = 0; i < 5; i++) {
            assertThat(rates.acquire("user a", 5)).isZero();
        }
        // one token comes back every 2 s
        assertThat(rates.acquire("user a", 5)).isEqualTo(2);
        assertThat(rates.acquire("user b", 5)).as("another key has its own bucket").isZero();
        now.addAndGet(Duration.ofSeconds(2).toNanos());
        assertThat(rates.acquire("user a", 5)).isZero();
        assertThat(rates.acquire("user a", 5)).isEqualTo(2);
        assertThat(rates.acquire("anyone", 0)).as("0 = no limit").isZero();
    }

    @Test
    void refusalsAreOneLinePerIntervalWithoutQueryOrControlCharacters() {
        AtomicLong now = new AtomicLong(0);
        RefusalLog log = new RefusalLog(Duration.ofSeconds(10), now::get);
        LogCapture capture = LogCapture.attach();
        try {
            for (int i = 0; i < 1000; i++) {
                log.refused(400, "malformed query string", "GET", "/api/v1/agent-config/a/b\u001b[31m?key=secret%zz");
            }
            now.addAndGet(Duration.ofSeconds(11).toNanos());
            log.refused(404, "Not found", "GET\r\n", "/nope?token=t");
        } finally {
            capture.detach();
        }
        var lines = capture.lines().stream().filter(l -> l.contains("RefusalLog")).toList();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).contains("400 malformed query string (GET /api/v1/agent-config/a/b?[31m)");
        assertThat(lines.get(1)).contains("404 Not found (GET?? /nope); 999 more refused since the previous line");
        for (String line : lines) {
            assertThat(line).doesNotContain("secret").doesNotContain("token=").doesNotContain("\n").doesNotContain("\u001b");
        }
    }
}
