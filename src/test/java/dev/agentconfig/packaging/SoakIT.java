package dev.agentconfig.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;

/**
 * The soak (mvn -B -Psoak verify): thousands of saves from 16 clients while the database is
 * stopped and started twice, killed with SIGKILL once (crash recovery), and the service is killed with
 * SIGKILL once and restarted. The database runs durable (synchronous_commit=on, fsync=on). Then every
 * acknowledged save's final per-field value must be in both tables, the local store empty, and no
 * answer a 5xx other than 503. Prints "acknowledged N, lost M" and records it in docs/benchmarks.md.
 * Its short form, the database's SIGKILL alone in under a minute, runs in every build:
 * {@link DatabaseCrashSoakIT}.
 */
class SoakIT {
    private static final int CLIENTS = 16;
    private static final int USERS = 400;

    @Test
    void nothingAcknowledgedIsLost() throws Exception {
        try (SoakRun soak = new SoakRun(CLIENTS, USERS, "soak").start()) {
            soak.startClients();
            long t0 = System.nanoTime();
            List<String> timeline = new ArrayList<>();
            // the faults, while the clients keep saving
            phase(timeline, t0, "load", 8);
            soak.stopDatabase();
            phase(timeline, t0, "database stopped (1)", 8);
            soak.startDatabase();
            phase(timeline, t0, "database started (1)", 8);
            soak.service.kill();
            timeline.add(String.format(Locale.ROOT, "%5.1f s  service killed (SIGKILL)", (System.nanoTime() - t0) / 1e9));
            soak.restartService();
            phase(timeline, t0, "service restarted", 8);
            soak.stopDatabase();
            phase(timeline, t0, "database stopped (2)", 8);
            soak.startDatabase();
            phase(timeline, t0, "database started (2)", 8);
            // a crash of the database itself: what it acknowledged (synchronous_commit=on) must survive
            soak.killPostmaster();
            phase(timeline, t0, "database killed (SIGKILL)", 6);
            soak.recoverDatabase();
            phase(timeline, t0, "database recovered and started", 8);
            soak.stopClients();
            double loadSeconds = (System.nanoTime() - t0) / 1e9;

            // the local store drains on its own (scheduled sync)
            double drainSeconds = soak.awaitDrained(Duration.ofMinutes(3));

            List<String> losses = soak.losses();
            assertThat(soak.service.stop()).isIn(0, 143);

            String line = soak.summary(losses);
            System.out.println(line);
            String record = "## Soak\n\nProduced by `mvn -B -Psoak verify` (" + Instant.now().toString().substring(0, 16) + "Z).\n\n"
                    + "**" + line + "** — " + CLIENTS + " clients, " + USERS + " users, every save setting one or more of the three "
                    + "fields to a fresh value, for " + String.format(Locale.ROOT, "%.0f", loadSeconds) + " s; answers by status "
                    + soak.statusesText() + ", " + soak.transportErrors.get() + " requests without an answer (the service was "
                    + "killed or restarting: not acknowledged, so not counted); the local store drained "
                    + String.format(Locale.ROOT, "%.1f", drainSeconds) + " s after the load stopped. A save counts as lost when "
                    + "a table holds neither its acknowledged value at its version nor a newer version of that field.\n\n"
                    + "Timeline:\n\n```\n" + String.join("\n", timeline) + "\n```\n";
            Path out = Path.of("docs/benchmarks.md");
            String existing = Files.exists(out) ? Files.readString(out) : "# Benchmarks\n\n";
            int at = existing.indexOf("## Soak");
            Files.writeString(out, (at >= 0 ? existing.substring(0, at) : existing + "\n") + record);

            assertThat(soak.statuses.keySet()).as("statuses %s", soak.statuses).allMatch(s -> s == 200 || s == 202 || s == 503);
            assertThat(losses.subList(0, Math.min(10, losses.size()))).as(line).isEmpty();
            assertThat(soak.acknowledged()).isGreaterThan(1000);
            assertThat(soak.service.output()).doesNotContain("key_TESTSECRET_");
        }
    }

    private static void phase(List<String> timeline, long t0, String what, int seconds) throws InterruptedException {
        timeline.add(String.format(Locale.ROOT, "%5.1f s  %s", (System.nanoTime() - t0) / 1e9, what));
        Thread.sleep(seconds * 1000L); // the soak's schedule: load runs for this long in this state
    }
}
