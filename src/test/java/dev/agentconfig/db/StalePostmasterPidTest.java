package dev.agentconfig.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * A postmaster.pid left behind names a pid that now belongs to some other program (pids are
 * reused): the start must not signal that program, and must still start the server.
 */
class StalePostmasterPidTest {

    @Test
    void aPidFileNamingAnUnrelatedLiveProcessLeavesThatProcessAlone() throws Exception {
        Path data = Files.createTempDirectory("acs-stale-pid-");
        Path cluster = data.resolve("pg");
        EmbeddedDatabase db = new EmbeddedDatabase(cluster, data.resolve("secrets"));
        Process sleep = new ProcessBuilder("sleep", "300").start();
        try {
            db.start();
            db.stop();
            // what a postmaster killed with SIGKILL leaves, with the pid since reused by `sleep`
            Files.writeString(cluster.resolve("postmaster.pid"), sleep.pid() + "\n" + cluster + "\n"
                    + (System.currentTimeMillis() / 1000) + "\n" + db.port() + "\n/tmp\n127.0.0.1\n  1234567  7\nready   \n");

            db.start();

            assertThat(sleep.isAlive()).as("the unrelated process named by the stale postmaster.pid is alive").isTrue();
            assertThat(db.running()).isTrue();
            try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                 ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
                assertThat(rs.next()).isTrue();
            }
        } finally {
            db.stop();
            sleep.destroy();
            sleep.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
