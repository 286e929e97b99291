package dev.agentconfig.db;

import java.sql.SQLException;
import java.time.Clock;
import java.util.List;

import dev.agentconfig.audit.JdbcAuditSink;
import dev.agentconfig.config.Beans;
import dev.agentconfig.config.Settings;
import dev.agentconfig.observe.ServiceChecks;
import dev.agentconfig.observe.Tracing;
import dev.agentconfig.receipt.HistorySettings;
import dev.agentconfig.save.IdempotencySettings;
import dev.agentconfig.transport.FailureClassifier;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The direct database (embedded or external): always with the jdbc transport, with rest only when
 * agentconfig.db.url is set (then used for migrations and NOTIFY pgrst, never for data). With the jdbc
 * transport it is the backend, the target writes, the reads and the audit sink
 * (db/JdbcTargetWrites, db/JdbcReads).
 */
public final class DatabaseConfiguration implements CamelConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(DatabaseConfiguration.class);
    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = Beans.settings(context);
        if (!settings.directDatabase()) {
            return;
        }
        Registry registry = context.getRegistry();
        Database database = new Database(settings);
        // the pool and embedded server stop with the context, after the routes
        context.addService(database, true, true);
        registry.bind("database", database);
        registry.bind("dataSource", database.dataSource());
        database.ensureMigrated();
        if (settings.restTransport()) {
            return;
        }
        JdbcBackend backend = new JdbcBackend(database);
        registry.bind("backend", backend);
        ServiceChecks.probed(context, List.of("database", "schema"), backend::healthChecks, "database");
        registry.bind("auditSink", new JdbcAuditSink(database.dataSource()));
        // the two tables written in group commits (the saves' keys and audit rows in the same transaction);
        // save/FailurePolicy wraps it as the bean targetWrites
        JdbcTargetWrites writes = new JdbcTargetWrites(database.dataSource(),
                Beans.require(context, "failureClassifier", FailureClassifier.class), GroupCommitSettings.from(context),
                IdempotencySettings.from(context), wallClock(context),
                Beans.require(context, "meterRegistry", MeterRegistry.class))
                .tracedBy(Beans.optional(context, "tracing", Tracing.class)); // a group's span (observe/Tracing)
        // its writers stop with the context, before the pool (added after it)
        context.addService(writes, true, true);
        registry.bind("transportWrites", writes);
        JdbcReads reads = new JdbcReads(database.dataSource());
        registry.bind("targetReads", reads);
        // what a receipt is derived from: the audit rows and the tables' versions (receipt/Receipts)
        registry.bind("saveRecords", new JdbcSaveRecords(database.dataSource(), reads));
        // the values that lost (trigger of migration V7); its bounds per user are the service's configuration
        JdbcFieldHistory history = new JdbcFieldHistory(database.dataSource());
        HistorySettings historySettings = HistorySettings.from(context);
        try {
            history.bounds(historySettings.perUser(), historySettings.retention());
        } catch (SQLException | RuntimeException e) {
            // the service starts without its database too: the trigger keeps the bounds it had (at first: 100, 30 days)
            LOG.warn("The history's bounds (agentconfig.history.*) could not be written now ({}); they are written at "
                    + "the next start", e.getMessage());
        }
        registry.bind("fieldHistory", history);
        registry.bind("sealedKeys", new JdbcSealedKeys(database.dataSource()));
        registry.bind("idempotencyRecords", new JdbcIdempotencyRecords(database.dataSource()));
        if (database.migrated()) {
            backend.logSchemaAtStart();
        }
    }

    /** The wall clock under versions and key expiry; a test may bind its own ("wallClock"). */
    private static Clock wallClock(CamelContext context) {
        Clock wall = Beans.optional(context, "wallClock", Clock.class);
        return wall == null ? Clock.systemUTC() : wall;
    }
}
