package dev.agentconfig.db;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.agentconfig.config.Settings;
import org.apache.camel.support.service.ServiceSupport;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection pool to the database (embedded or external) and the schema migrations.
 * Migrations run at start; when an external database is unreachable at start the service still
 * starts (saves queue in the local store) and {@link #ensureMigrated()} tries again later.
 */
public final class Database extends ServiceSupport {
    private static final Logger LOG = LoggerFactory.getLogger(Database.class);

    private final Settings settings;
    private final EmbeddedDatabase embedded;
    private final HikariDataSource pool;
    private volatile boolean migrated;

    public Database(Settings settings) {
        this.settings = settings;
        this.embedded = settings.embeddedDatabase()
                ? new EmbeddedDatabase(settings.dataDir().resolve("pg"), settings.secretsDir())
                : null;
        if (embedded != null) {
            embedded.start();
        }
        this.pool = new HikariDataSource(poolConfig(settings, embedded));
    }

    private static HikariConfig poolConfig(Settings settings, EmbeddedDatabase embedded) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("agent-config-db");
        if (embedded != null) {
            config.setJdbcUrl(embedded.jdbcUrl());
            config.setUsername(embedded.user());
            config.setPassword(embedded.password());
        } else {
            config.setJdbcUrl(settings.dbUrl().orElseThrow());
            settings.dbUser().ifPresent(config::setUsername);
            settings.dbPassword().ifPresent(config::setPassword);
        }
        // Auto-commit on by default (the audit sink, Flyway's own transactions, reads); a save's writes
        // turn it off for their one transaction. Explicit, not left to the pool's default. A connection
        // handed back with auto-commit off is rolled back and reset by the pool.
        config.setAutoCommit(true);
        config.setMaximumPoolSize(settings.dbPoolSize());
        // a fixed-size pool (HikariCP's advice): after an outage it refills every connection at once,
        // instead of growing one connection per waiting request
        config.setMinimumIdle(settings.dbPoolSize());
        config.setConnectionTimeout(Math.max(250, settings.dbConnectTimeout().toMillis()));
        config.setValidationTimeout(Math.max(250, Math.min(1000, settings.dbConnectTimeout().toMillis())));
        // Start even when the database is down: saves then go to the local store.
        config.setInitializationFailTimeout(-1);
        config.addDataSourceProperty("ApplicationName", "agent-config-sync");
        config.addDataSourceProperty("connectTimeout", "2");
        // Server error details ("Failing row contains (...)") never reach messages or logs.
        config.addDataSourceProperty("logServerErrorDetail", "false");
        // audit rows and sync batches go as multi-row inserts
        config.addDataSourceProperty("reWriteBatchedInserts", "true");
        config.addDataSourceProperty("options",
                "-c statement_timeout=" + settings.dbStatementTimeout().toMillis());
        return config;
    }

    public DataSource dataSource() {
        return pool;
    }

    /**
     * Idle connections are closed now, busy ones when they are handed back: the pool makes new ones. With
     * {@code warm}, this waits (at most the pool's timeout) until one new connection works.
     */
    public void forgetConnections(boolean warm) {
        var bean = pool.getHikariPoolMXBean();
        if (bean != null) {
            bean.softEvictConnections();
        }
        if (warm && bean != null) {
            // the pool makes its connections one after another (each a TCP and SCRAM handshake): wait until
            // it holds a working set, so the first saves and the drain do not queue behind the handshakes
            int want = Math.max(1, pool.getMaximumPoolSize() / 2);
            long deadline = System.nanoTime() + java.time.Duration.ofSeconds(5).toNanos();
            try (Connection c = pool.getConnection()) {
                c.isValid(1);
                while (bean.getIdleConnections() + bean.getActiveConnections() < want && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
            } catch (SQLException e) {
                LOG.debug("The pool has no new connection yet: {}", e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Whether the database answers right now, asked on a connection of its own (not the pool's): the
     * breaker probe runs while the pool may be busy failing, and must neither wait behind its waiters
     * nor take a connection from the saves. Short timeouts: a probe that hangs tells nothing sooner.
     */
    public boolean answers() {
        java.util.Properties p = new java.util.Properties();
        if (pool.getUsername() != null) {
            p.setProperty("user", pool.getUsername());
        }
        if (pool.getPassword() != null) {
            p.setProperty("password", pool.getPassword());
        }
        p.setProperty("connectTimeout", "1");
        p.setProperty("socketTimeout", "2");
        p.setProperty("loginTimeout", "2");
        p.setProperty("ApplicationName", "agent-config-sync probe");
        try (Connection c = new org.postgresql.Driver().connect(pool.getJdbcUrl(), p)) {
            return c != null && c.isValid(1);
        } catch (SQLException e) {
            LOG.debug("Database probe: {}", e.getMessage());
            return false;
        }
    }

    public Optional<EmbeddedDatabase> embedded() {
        return Optional.ofNullable(embedded);
    }

    public boolean migrated() {
        return migrated;
    }

    /** Applies pending migrations once; true when the schema is up to date. */
    public synchronized boolean ensureMigrated() {
        if (migrated) {
            return true;
        }
        try (Connection ignored = pool.getConnection()) {
            // reachable
        } catch (SQLException e) {
            LOG.warn("Database not reachable, schema migration postponed: {}", e.getMessage());
            return false;
        }
        Flyway flyway = flyway(pool);
        MigrateResult result = flyway.migrate();
        LOG.info("Schema migrations: {} applied, schema at version {}",
                result.migrationsExecuted, flyway.info().current().getVersion());
        migrated = true;
        return true;
    }

    /** The service's migrations on {@code dataSource}, configured as at start (tests migrate other databases with it). */
    static Flyway flyway(DataSource dataSource) {
        return Flyway.configure()
                .dataSource(dataSource)
                .schemas("agentconfig")
                .locations("classpath:db/migration")
                // The migrations may already have been run by hand (pasted into the Supabase SQL editor,
                // which keeps no history): baseline below V1 and apply them again on top. They are
                // additive and idempotent, so that is a no-op on such a schema. An empty schema is
                // migrated as always (Flyway only baselines a non-empty one).
                .baselineOnMigrate(true)
                .baselineVersion("0")
                .load();
    }

    @Override
    protected void doStop() {
        pool.close();
        if (embedded != null) {
            embedded.stop();
        }
    }
}
