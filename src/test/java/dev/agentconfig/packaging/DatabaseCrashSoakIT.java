package dev.agentconfig.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The soak's core, short enough for every build (under a minute): the packaged jar against a durable
 * PostgreSQL, 8 clients saving at the rate the service answers, the postmaster killed with SIGKILL
 * (no shutdown checkpoint: crash recovery at the restart) while they save, the database started
 * again, and then every acknowledged save (200 saved or 202 parked) is in both tables at its version.
 * The long form with every fault is {@link SoakIT} ({@code mvn -B -Psoak verify}).
 */
class DatabaseCrashSoakIT {
    private static final int CLIENTS = 8;
    private static final int USERS = 100;
    /** Acknowledged saves in each phase before the next step: the load really ran around the crash. */
    private static final int PER_PHASE = 150;

    @Test
    void aSigkilledDatabaseLosesNoAcknowledgedSave() throws Exception {
        try (SoakRun soak = new SoakRun(CLIENTS, USERS, "db-crash-soak").start()) {
            soak.startClients();
            await().atMost(Duration.ofSeconds(60)).until(() -> soak.answered(200) >= PER_PHASE);

            // the crash, while the clients keep saving
            long killed = soak.killPostmaster();
            assertThat(ProcessHandle.of(killed).filter(ProcessHandle::isAlive)).as("the killed postmaster").isEmpty();
            // the service felt it: saves are parked in the local store (202) while the database is gone
            int parkedBefore = soak.answered(202);
            await().atMost(Duration.ofSeconds(60)).until(() -> soak.answered(202) >= parkedBefore + PER_PHASE);

            soak.recoverDatabase();
            assertThat(soak.postmasterPid()).as("a new postmaster").isNotEqualTo(killed);
            // and saves reach the database again
            int savedAtRecovery = soak.answered(200);
            await().atMost(Duration.ofSeconds(60)).until(() -> soak.answered(200) >= savedAtRecovery + PER_PHASE);
            soak.stopClients();

            double drained = soak.awaitDrained(Duration.ofMinutes(2));
            List<String> losses = soak.losses();
            String line = soak.summary(losses);
            System.out.printf("DatabaseCrashSoakIT: %s; answers by status %s, %d without an answer; local store drained "
                    + "%.1f s after the load%n", line, soak.statusesText(), soak.transportErrors.get(), drained);

            assertThat(losses.subList(0, Math.min(10, losses.size()))).as(line).isEmpty();
            assertThat(soak.statuses.keySet()).as("statuses %s", soak.statuses).allMatch(s -> s == 200 || s == 202 || s == 503);
            assertThat(soak.service.stop()).isIn(0, 143);
            assertThat(soak.service.output()).as("the jar's log").contains("parked in the local store")
                    .doesNotContain("key_TESTSECRET_");
        }
    }
}
