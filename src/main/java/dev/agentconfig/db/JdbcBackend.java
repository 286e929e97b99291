package dev.agentconfig.db;

import dev.agentconfig.transport.Backend;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.observe.CheckResult;
import dev.agentconfig.db.SchemaCheck;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The jdbc transport's database: the pool (embedded or external) and its schema. */
public final class JdbcBackend implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcBackend.class);

    private final Database database;
    private final SchemaCheck schema;
    private final FailureClassifier classifier = new FailureClassifier();

    public JdbcBackend(Database database) {
        this.database = database;
        this.schema = new SchemaCheck(database.dataSource());
    }

    @Override
    public boolean ready() {
        return database.ensureMigrated();
    }

    @Override
    public boolean reachable() {
        return database.answers();
    }

    @Override
    public void forgetConnections() {
        database.forgetConnections(false);
    }

    @Override
    public void reconnect() {
        database.forgetConnections(true);
    }

    /**
     * The probe of the health checks {@code database} and {@code schema}: one pool connection for the
     * reachability check, then one for the schema. Health is open: a failure is answered with its
     * SQLSTATE only; the driver's message goes to the log, once per distinct failure (the probe runs
     * once at a time, see observe/ServiceChecks).
     */
    public List<CheckResult> healthChecks() {
        List<CheckResult> checks = new ArrayList<>();
        boolean dbUp = false;
        try (Connection c = database.dataSource().getConnection()) {
            dbUp = c.isValid(2);
            checks.add(dbUp ? CheckResult.up("database", "reachable", Map.of())
                    : CheckResult.down("database", "connection not valid", Map.of()));
        } catch (SQLException e) {
            var f = classifier.classify(e);
            // once per outage: the first probe often meets a pooled connection the stop dropped, the next ones a
            // refused connection; the driver's and the pool's texts vary from probe to probe besides
            logOnce("database unreachable", f.cause().id(),
                    "database unreachable: " + f.cause().words() + " (" + f.code() + ": " + f.message() + ")");
            checks.add(CheckResult.down("database", "unreachable: " + f.cause().words(),
                    Map.of("code", f.code(), "cause", f.cause().id())));
        }
        if (dbUp) {
            try {
                List<String> missing = schema.missing();
                checks.add(missing.isEmpty() ? CheckResult.up("schema", "complete", Map.of())
                        : CheckResult.down("schema", "missing: " + String.join("; ", missing), Map.of("missing", missing)));
                if (missing.isEmpty()) {
                    logOnce(null, null, null);
                }
            } catch (SQLException e) {
                logOnce("schema cannot be inspected", e.getSQLState(),
                        "schema cannot be inspected: " + e.getSQLState() + " " + e.getMessage());
                checks.add(CheckResult.down("schema", "cannot be inspected (SQLSTATE " + e.getSQLState()
                        + "; see the service log)", Map.of()));
            }
        } else {
            checks.add(CheckResult.down("schema", "not checked: the database is unreachable", Map.of()));
        }
        return checks;
    }

    /** The failure last logged: {state, cause}; null while healthy. */
    private final java.util.concurrent.atomic.AtomicReference<String[]> loggedFailure =
            new java.util.concurrent.atomic.AtomicReference<>();

    /**
     * docs/operations.md: a health failure is logged once per change. WARN when the checks turn to {@code state}
     * (the database unreachable, the schema not inspectable); a new cause within the same state (a dropped
     * connection, then refused ones) at INFO, once; the return at INFO. null state: healthy again.
     */
    private void logOnce(String state, String cause, String text) {
        String[] previous = loggedFailure.getAndSet(state == null ? null : new String[] {state, cause});
        if (state != null && (previous == null || !state.equals(previous[0]))) {
            LOG.warn("Health: {}", text);
        } else if (state != null && !Objects.equals(cause, previous[1])) {
            LOG.info("Health: still so, now {}", text);
        } else if (state == null && previous != null) {
            LOG.info("Health: the database and schema checks pass again");
        }
    }

    /** At start: say loudly what the schema lacks (the seed's two bugs are named). */
    public void logSchemaAtStart() {
        try {
            List<String> missing = schema.missing();
            if (missing.isEmpty()) {
                LOG.info("Schema check: complete");
            } else {
                LOG.error("Schema check: missing {}; saves to the affected table will queue in the local store",
                        String.join("; ", missing));
            }
        } catch (SQLException e) {
            LOG.warn("Schema check postponed: the database is unreachable ({})", e.getMessage());
        }
    }
}
