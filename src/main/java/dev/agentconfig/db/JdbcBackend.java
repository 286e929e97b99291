package dev.agentconfig.db;

import dev.agentconfig.transport.Backend;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
            logOnce("database unreachable: " + f.cause().words() + " (" + f.code() + ": " + f.message() + ")");
            checks.add(CheckResult.down("database", "unreachable: " + f.cause().words(),
                    Map.of("code", f.code(), "cause", f.cause().id())));
        }
        if (dbUp) {
            try {
                List<String> missing = schema.missing();
                checks.add(missing.isEmpty() ? CheckResult.up("schema", "complete", Map.of())
                        : CheckResult.down("schema", "missing: " + String.join("; ", missing), Map.of("missing", missing)));
                if (missing.isEmpty()) {
                    logOnce(null);
                }
            } catch (SQLException e) {
                logOnce("schema cannot be inspected: " + e.getSQLState() + " " + e.getMessage());
                checks.add(CheckResult.down("schema", "cannot be inspected (SQLSTATE " + e.getSQLState()
                        + "; see the service log)", Map.of()));
            }
        } else {
            checks.add(CheckResult.down("schema", "not checked: the database is unreachable", Map.of()));
        }
        return checks;
    }

    private final java.util.concurrent.atomic.AtomicReference<String> loggedFailure =
            new java.util.concurrent.atomic.AtomicReference<>();

    /** Logs a health failure when it differs from the last one logged; null: healthy again. */
    private void logOnce(String failure) {
        String previous = loggedFailure.getAndSet(failure);
        if (failure != null && !failure.equals(previous)) {
            LOG.warn("Health: {}", failure);
        } else if (failure == null && previous != null) {
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
