package dev.agentconfig.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class SharedProbeTest {

    @Test
    void callersThatOverlapARunShareItAndTheProbeNeverRunsTwiceAtOnce() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger maxRunning = new AtomicInteger();
        SharedProbe<String> probe = new SharedProbe<>(() -> {
            maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            running.decrementAndGet();
            return "UP";
        }, Duration.ZERO);
        ExecutorService pool = Executors.newFixedThreadPool(32);
        try {
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                answers.add(pool.submit(probe::get));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> running.get() == 1);
            release.countDown();
            for (Future<String> f : answers) {
                assertThat(f.get(5, TimeUnit.SECONDS)).isEqualTo("UP");
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(maxRunning.get()).isEqualTo(1);
        // callers that arrived after the first run ended may have started one more of their own
        assertThat(probe.runs()).isBetween(1, 32);
    }

    @Test
    void aResultIsReusedForTheTtlThenTakenAgain() {
        AtomicLong now = new AtomicLong();
        AtomicInteger calls = new AtomicInteger();
        SharedProbe<Integer> probe = new SharedProbe<>(calls::incrementAndGet, Duration.ofSeconds(1), now::get);
        assertThat(probe.get()).isEqualTo(1);
        now.addAndGet(Duration.ofMillis(999).toNanos());
        assertThat(probe.get()).isEqualTo(1);
        now.addAndGet(Duration.ofMillis(1).toNanos());
        assertThat(probe.get()).isEqualTo(2);
        assertThat(probe.runs()).isEqualTo(2);
    }

    @Test
    void withoutATtlEveryCallAfterARunTakesAFreshOne() {
        AtomicInteger calls = new AtomicInteger();
        SharedProbe<Integer> probe = new SharedProbe<>(calls::incrementAndGet, Duration.ZERO);
        assertThat(probe.get()).isEqualTo(1);
        assertThat(probe.get()).isEqualTo(2);
    }

    @Test
    void aFailedRunIsNotRemembered() {
        AtomicInteger calls = new AtomicInteger();
        SharedProbe<Integer> probe = new SharedProbe<>(() -> {
            if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("first run fails");
            }
            return calls.get();
        }, Duration.ofSeconds(10));
        assertThatThrownBy(probe::get).hasMessage("first run fails");
        assertThat(probe.get()).isEqualTo(2);
    }
}
