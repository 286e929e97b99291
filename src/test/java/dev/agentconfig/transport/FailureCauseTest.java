package dev.agentconfig.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.agentconfig.core.Failure;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * Issue 21: a refused or dropped connection, an unknown host, refused credentials, a pool exhausted under
 * load and a statement timeout are told apart, each caused for real against PostgreSQL 17 and classified by
 * the one classifier. Before: a stopped database behind the pool was "pool-timeout" with the pool's counters
 * as its message, the same words as load, and no cause at all.
 */
class FailureCauseTest extends ServiceTestSupport {
    private final FailureClassifier classifier = new FailureClassifier();

    @Test
    void aRefusedConnection() {
        int port = freePort();
        Throwable e = catchThrowable(() -> DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/x", "u", "p"));
        assertThat(e).isInstanceOf(SQLException.class);
        Failure f = classifier.classify(e);
        assertThat(f.cause()).isEqualTo(Failure.Cause.CONNECTION_REFUSED);
        assertThat(f.message()).contains("127.0.0.1:" + port);
    }

    @Test
    void anUnknownHost() {
        Throwable e = catchThrowable(() -> DriverManager.getConnection(
                "jdbc:postgresql://no-such-host.invalid:5432/x?connectTimeout=2", "u", "p"));
        assertThat(e).isInstanceOf(SQLException.class);
        Failure f = classifier.classify(e);
        assertThat(f.cause()).as(f.toString()).isEqualTo(Failure.Cause.UNKNOWN_HOST);
        assertThat(f.message()).contains("no-such-host.invalid");
    }

    @Test
    void refusedCredentials() {
        Throwable e = catchThrowable(() -> DriverManager.getConnection(embedded().jdbcUrl(), embedded().user(),
                "not-the-password"));
        assertThat(e).isInstanceOf(SQLException.class);
        assertThat(((SQLException) e).getSQLState()).startsWith("28");
        assertThat(classifier.classify(e).cause()).isEqualTo(Failure.Cause.AUTHENTICATION);
    }

    @Test
    void aStatementTimeout() throws Exception {
        try (Connection c = dataSource().getConnection(); Statement st = c.createStatement()) {
            st.execute("SET statement_timeout = 50");
            Throwable e = catchThrowable(() -> st.execute("SELECT pg_sleep(2)"));
            assertThat(((SQLException) e).getSQLState()).isEqualTo("57014");
            assertThat(classifier.classify(e).cause()).isEqualTo(Failure.Cause.STATEMENT_TIMEOUT);
            st.execute("SET statement_timeout = 0");
        }
    }

    @Test
    void aDroppedConnection() throws Exception {
        try (Connection victim = DriverManager.getConnection(embedded().jdbcUrl(), embedded().user(), embedded().password());
             Connection admin = dataSource().getConnection()) {
            int pid;
            try (Statement st = victim.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                pid = rs.getInt(1);
            }
            try (Statement st = admin.createStatement()) {
                st.execute("SELECT pg_terminate_backend(" + pid + ")");
            }
            Throwable e = catchThrowable(() -> {
                try (Statement st = victim.createStatement()) {
                    st.execute("SELECT 1");
                }
            });
            assertThat(e).isInstanceOf(SQLException.class);
            Failure f = classifier.classify(e);
            assertThat(f.cause()).as(f.toString()).isEqualTo(Failure.Cause.CONNECTION_LOST);
            assertThat(f.outOfReach()).isTrue();
        }
    }

    @Test
    void aPoolExhaustedUnderLoadIsNotTheDatabaseDown() throws Exception {
        try (HikariDataSource pool = pool(embedded().jdbcUrl(), embedded().user(), embedded().password());
             Connection held = pool.getConnection()) {
            assertThat(held.isValid(1)).isTrue();
            Throwable e = catchThrowable(pool::getConnection);
            Failure f = classifier.classify(e);
            assertThat(f.poolTimeout()).isTrue();
            assertThat(f.cause()).isEqualTo(Failure.Cause.POOL_EXHAUSTED);
            assertThat(f.cause().databaseDown()).isFalse();
            assertThat(f.message()).doesNotContain("total=", "waiting=");
        }
    }

    @Test
    void aPoolTimeoutBehindARefusedConnectionSaysRefused() {
        int port = freePort();
        try (HikariDataSource pool = pool("jdbc:postgresql://127.0.0.1:" + port + "/x", "u", "p")) {
            Throwable e = catchThrowable(pool::getConnection);
            Failure f = classifier.classify(e);
            // before: pool-timeout, "Connection is not available, request timed out after …ms (total=0, …)"
            assertThat(f.poolTimeout()).isTrue();
            assertThat(f.cause()).as(f.toString()).isEqualTo(Failure.Cause.CONNECTION_REFUSED);
            assertThat(f.cause().databaseDown()).isTrue();
            assertThat(f.message()).contains("127.0.0.1:" + port).doesNotContain("total=", "waiting=");
            assertThat(f.cause().words()).doesNotContain("pool");
        }
    }

    private static HikariDataSource pool(String url, String user, String password) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(1);
        config.setConnectionTimeout(300);
        config.setInitializationFailTimeout(-1);
        return new HikariDataSource(config);
    }
}
