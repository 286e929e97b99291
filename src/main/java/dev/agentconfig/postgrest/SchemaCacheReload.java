package dev.agentconfig.postgrest;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

import dev.agentconfig.core.Failure;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Schema-cache self-healing: PostgREST answered PGRST202/204/205 (it does not know a function,
 * column or table, typically after a migration that dropped Supabase's DDL event triggers), so
 * it is told to reload its cache with {@code NOTIFY pgrst, 'reload schema'} over the direct SQL
 * connection (agentconfig.db.url; Supabase's session pooler may not deliver it). Without a direct
 * connection there is nothing to send: the failure stays schema drift and the save is queued.
 */
public final class SchemaCacheReload {
    private static final Logger LOG = LoggerFactory.getLogger(SchemaCacheReload.class);

    private final DataSource direct;
    private final MeterRegistry meters;

    /** @param direct the direct database connection, or null when none is configured */
    public SchemaCacheReload(DataSource direct, MeterRegistry meters) {
        this.direct = direct;
        this.meters = meters;
    }

    public boolean available() {
        return direct != null;
    }

    /** Route step: sends the NOTIFY; a failure to send is logged and the retry still happens. */
    public void reload(Exchange exchange) {
        Failure stale = exchange.getProperty(PostgrestSteps.STALE, Failure.class);
        Object request = exchange.getProperty(PostgrestSteps.REQUEST);
        try (Connection c = direct.getConnection(); Statement st = c.createStatement()) {
            st.execute("NOTIFY pgrst, 'reload schema'");
            count("sent");
            LOG.warn("PostgREST answered {} to {} ({}); sent NOTIFY pgrst, 'reload schema' over the direct "
                    + "database connection and will retry once", stale == null ? "?" : stale.code(), request,
                    stale == null ? "" : stale.message());
        } catch (SQLException e) {
            count("failed");
            LOG.warn("PostgREST answered {} to {}; NOTIFY pgrst could not be sent over the direct database "
                    + "connection ({}); retrying once anyway", stale == null ? "?" : stale.code(), request, e.getMessage());
        }
    }

    private void count(String outcome) {
        Counter.builder("agentconfig.postgrest.schema.reloads")
                .description("NOTIFY pgrst, 'reload schema' sent after a schema-cache miss")
                .tag("outcome", outcome)
                .register(meters)
                .increment();
    }
}
