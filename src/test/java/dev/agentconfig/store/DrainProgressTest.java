package dev.agentconfig.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;

/** The drain's progress from the passes' and the entries' reports, on a clock the test moves. */
class DrainProgressTest {
    private Instant now = Instant.parse("2026-12-01T10:00:00Z");
    private final DrainProgress progress = new DrainProgress(new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    });

    private void drain(int entries, Duration over) {
        Duration step = over.dividedBy(entries);
        for (int i = 0; i < entries; i++) {
            now = now.plus(step);
            progress.entryDrained();
        }
    }

    @Test
    void noDrainWithoutAPassThatHasEntriesDue() {
        progress.passStarted(0);
        progress.entryDrained();
        assertThat(progress.current(5)).isEmpty();
        assertThat(progress.passEnded(0, 0, 5)).isEmpty();
    }

    @Test
    void rateAndTimeLeftFollowTheEntriesAsTheyAreSettled() {
        progress.passStarted(1000);
        DrainProgress.Snapshot start = progress.current(1000).orElseThrow();
        assertThat(start.drained()).isZero();
        assertThat(start.perSecond()).as("not measured before anything drained").isNull();
        assertThat(start.etaSeconds()).isNull();

        drain(200, Duration.ofSeconds(2)); // 100 entries/s
        DrainProgress.Snapshot mid = progress.current(800).orElseThrow();
        assertThat(mid.drained()).isEqualTo(200);
        assertThat(mid.percent()).isEqualTo(20);
        assertThat(mid.perSecond()).isCloseTo(100.0, org.assertj.core.data.Offset.offset(1.0));
        assertThat(mid.etaSeconds()).isBetween(7L, 9L);
        assertThat(mid.toMap()).containsEntry("drained", 200L).containsEntry("pending", 800L)
                .containsEntry("percent", 20).containsKeys("startedAt", "drainedPerSecond", "etaSeconds");

        // the rate is the last 10 s: after a slow stretch, it says slow
        drain(100, Duration.ofSeconds(20)); // 5 entries/s
        DrainProgress.Snapshot slow = progress.current(700).orElseThrow();
        assertThat(slow.perSecond()).isLessThan(10.0);
        assertThat(slow.etaSeconds()).isGreaterThan(70L);

        // a pass that leaves entries pending does not end the drain; the one that leaves none does
        assertThat(progress.passEnded(300, 300, 700)).isEmpty();
        drain(700, Duration.ofSeconds(7));
        DrainProgress.Ended ended = progress.passEnded(700, 700, 0).orElseThrow();
        assertThat(ended.finished()).isTrue();
        assertThat(ended.drained()).isEqualTo(1000);
        assertThat(ended.took()).isEqualTo(Duration.ofSeconds(29));
        assertThat(progress.current(0)).isEmpty();
    }

    @Test
    void aPassThatHadEntriesDueAndDrainedNoneEndsTheDrainAsPaused() {
        progress.passStarted(50);
        drain(20, Duration.ofSeconds(1));
        assertThat(progress.passEnded(50, 20, 30)).isEmpty();
        // the database went away again: the next pass drains nothing
        progress.passStarted(30);
        DrainProgress.Ended paused = progress.passEnded(30, 0, 30).orElseThrow();
        assertThat(paused.finished()).isFalse();
        assertThat(paused.drained()).isEqualTo(20);
        assertThat(paused.pending()).isEqualTo(30);
        assertThat(progress.current(30)).isEmpty();
        // the next drain counts from zero
        progress.passStarted(30);
        assertThat(progress.current(30).orElseThrow().drained()).isZero();
    }
}
