package dev.agentconfig.audit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.util.List;

import javax.sql.DataSource;

import dev.agentconfig.core.FailureClass;
import dev.agentconfig.core.Failures;
import dev.agentconfig.json.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Audit rows inserted in one JDBC batch. */
public final class JdbcAuditSink implements AuditSink {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcAuditSink.class);
    /**
     * The time goes as ISO-8601 text (an Instant's), cast by the server: PgPreparedStatement.setTimestamp
     * builds a TimestampUtils with its calendars for every statement, 2 % of a save's CPU in its profile.
     */
    private static final String INSERT =
            "INSERT INTO public.audit_log (at, event, tenant_id, user_id, success, details) "
                    + "VALUES (CAST(? AS timestamptz), ?, ?, ?, ?, CAST(? AS jsonb))";

    private final DataSource dataSource;

    public JdbcAuditSink(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** One audit row on the caller's connection, in the caller's transaction (a save's own row). */
    public static void insert(Connection c, AuditEvent e) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(INSERT)) {
            bind(ps, e);
            ps.executeUpdate();
        }
    }

    /** Audit rows on the caller's connection, in the caller's transaction, in one JDBC batch (a sync batch's rows). */
    public static void insertAll(Connection c, List<AuditEvent> rows) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(INSERT)) {
            for (AuditEvent e : rows) {
                bind(ps, e);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private static void bind(PreparedStatement ps, AuditEvent e) throws SQLException {
        ps.setString(1, e.at().toString());
        ps.setString(2, e.event());
        ps.setString(3, e.tenantId());
        if (e.userId() == null) {
            ps.setNull(4, Types.OTHER);
        } else {
            ps.setObject(4, e.userId());
        }
        ps.setBoolean(5, e.success());
        ps.setString(6, Json.write(e.details()));
    }

    @Override
    public Outcome write(List<AuditEvent> batch) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(INSERT)) {
            for (AuditEvent e : batch) {
                bind(ps, e);
                ps.addBatch();
            }
            ps.executeBatch();
            return Outcome.WRITTEN;
        } catch (SQLException e) {
            String state = e.getSQLState();
            if (state != null && Failures.classOfSqlState(state) != FailureClass.TRANSIENT) {
                // the rows themselves (or the table) are the problem: retrying will not help (core/Failures decides)
                LOG.warn("Audit rows not written ({} {}): {} dropped", state, e.getMessage(), batch.size());
                return Outcome.DROPPED;
            }
            LOG.debug("Audit write postponed: {}", e.getMessage());
            return Outcome.POSTPONED;
        }
    }
}
