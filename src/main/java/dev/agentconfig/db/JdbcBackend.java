package dev.agentconfig.db;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.agentconfig.failure.FailureClassifier;
import dev.agentconfig.observe.HealthCheck;
import dev.agentconfig.observe.SchemaCheck;
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
        try (Connection c = database.dataSource().getConnection()) {
            return c.isValid(1);
        } catch (Exception e) {
            LOG.debug("Database unreachable: {}", e.getMessage());
            return false;
        }
    }

    @Override
    public String reachabilityCheck() {
        return "database";
    }

    @Override
    public List<HealthCheck> healthChecks() {
        List<HealthCheck> checks = new ArrayList<>();
        boolean dbUp = false;
        try (Connection c = database.dataSource().getConnection()) {
            dbUp = c.isValid(2);
            checks.add(dbUp ? HealthCheck.up("database", "reachable", Map.of())
                    : HealthCheck.down("database", "connection not valid", Map.of()));
        } catch (SQLException e) {
            var f = classifier.classify(e);
            checks.add(HealthCheck.down("database", "unreachable: " + f.message(), Map.of("code", f.code())));
        }
        if (dbUp) {
            try {
                List<String> missing = schema.missing();
                checks.add(missing.isEmpty() ? HealthCheck.up("schema", "complete", Map.of())
                        : HealthCheck.down("schema", "missing: " + String.join("; ", missing), Map.of("missing", missing)));
            } catch (SQLException e) {
                checks.add(HealthCheck.down("schema", "cannot be inspected: " + e.getMessage(), Map.of()));
            }
        } else {
            checks.add(HealthCheck.down("schema", "not checked: the database is unreachable", Map.of()));
        }
        return checks;
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
