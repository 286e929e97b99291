package dev.agentconfig.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.zaxxer.hikari.HikariDataSource;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * A 200 "saved" from the embedded database is on disk: the running server (asked through the
 * service's own pool) waits for the WAL flush at commit, fsyncs, writes full pages, and the pool
 * hands out auto-commit connections, so every statement the routes run is committed.
 */
class EmbeddedDurabilityTest extends ServiceTestSupport {

    @Test
    void theRunningServerWaitsForTheDiskAtEveryCommit() throws SQLException {
        Map<String, String> shown = new LinkedHashMap<>();
        try (Connection c = dataSource().getConnection(); Statement st = c.createStatement()) {
            for (String name : List.of("synchronous_commit", "fsync", "full_page_writes", "wal_sync_method",
                    "data_sync_retry", "commit_delay", "wal_level")) {
                try (ResultSet rs = st.executeQuery("SHOW " + name)) {
                    rs.next();
                    shown.put(name, rs.getString(1));
                }
            }
        }
        System.out.println("FIGURE embedded server durability settings: " + shown);
        assertThat(shown.get("synchronous_commit")).as("SHOW synchronous_commit").isEqualTo("on");
        assertThat(shown.get("fsync")).as("SHOW fsync").isEqualTo("on");
        assertThat(shown.get("full_page_writes")).as("SHOW full_page_writes").isEqualTo("on");
        // every method PostgreSQL offers flushes; the platform default (fdatasync on Linux) is kept
        assertThat(shown.get("wal_sync_method")).as("SHOW wal_sync_method")
                .isIn("fdatasync", "fsync", "open_datasync", "open_sync", "fsync_writethrough");
        // an fsync failure stops the server (PANIC) instead of being retried on pages the kernel dropped
        assertThat(shown.get("data_sync_retry")).as("SHOW data_sync_retry").isEqualTo("off");
    }

    @Test
    void pooledConnectionsCommitEveryStatement() throws SQLException {
        HikariDataSource pool = (HikariDataSource) dataSource();
        assertThat(pool.isAutoCommit()).as("the pool's auto-commit").isTrue();
        try (Connection c = pool.getConnection()) {
            assertThat(c.getAutoCommit()).as("a pooled connection's auto-commit").isTrue();
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE IF NOT EXISTS public.durability_probe (note text)");
                st.execute("INSERT INTO public.durability_probe VALUES ('committed')");
            }
            // a connection handed back with auto-commit off comes out of the pool with it on again
            c.setAutoCommit(false);
        }
        // another connection sees the row: nothing waited for a commit
        try (Connection other = pool.getConnection(); Statement st = other.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM public.durability_probe WHERE note = 'committed'")) {
            assertThat(other.getAutoCommit()).isTrue();
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(1);
        }
    }
}
