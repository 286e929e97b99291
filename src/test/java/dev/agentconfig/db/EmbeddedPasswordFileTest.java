package dev.agentconfig.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;

import org.junit.jupiter.api.Test;

/**
 * The password file is the key to the cluster, and the cluster belongs to whoever owns its files:
 * when the file is lost, the next start generates a new password and sets it (single-user mode,
 * no socket open) instead of locking the service out of its own data; the old one stops working.
 */
class EmbeddedPasswordFileTest {

    @Test
    void aLostPasswordFileIsReplacedAndTheDataKept() throws Exception {
        Path data = Files.createTempDirectory("acs-pwfile-");
        Path file = data.resolve("secrets/embedded-db-password");
        EmbeddedDatabase db = new EmbeddedDatabase(data.resolve("pg"), data.resolve("secrets"));
        try {
            db.start();
            String first = db.password();
            assertThat(Files.readString(file).trim()).isEqualTo(first);
            try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), first)) {
                c.createStatement().execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)");
            }
            db.stop();
            Files.delete(file);

            db.start();

            String second = db.password();
            assertThat(second).isNotEqualTo(first).isEqualTo(Files.readString(file).trim());
            SQLException old = catchThrowableOfType(
                    () -> DriverManager.getConnection(db.jdbcUrl(), db.user(), first).close(), SQLException.class);
            assertThat((Throwable) old).as("the lost password still works").isNotNull();
            assertThat(old.getSQLState()).isEqualTo("28P01");
            try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), second);
                 ResultSet rs = c.createStatement().executeQuery("SELECT n FROM kept")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(42);
            }
        } finally {
            db.stop();
        }
    }
}
