package dev.agentconfig.db;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import javax.sql.DataSource;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.json.Json;
import dev.agentconfig.receipt.SaveRecords;
import dev.agentconfig.transport.TargetRows;

/** The jdbc transport's answers for receipts: audit_log (index of migration V7) and the tables' field_versions. */
public final class JdbcSaveRecords implements SaveRecords {
    private static final String ROWS_OF_SAVE = SqlFile.load("receipt-rows.sql");
    private static final String SAVE_OF_VERSION = SqlFile.load("receipt-save-of-version.sql");
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {
    };

    private final DataSource dataSource;
    private final JdbcReads reads;

    public JdbcSaveRecords(DataSource dataSource, JdbcReads reads) {
        this.dataSource = dataSource;
        this.reads = reads;
    }

    @Override
    public List<AuditEvent> rowsOf(UserKey user, UUID saveId, Instant notBefore) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(ROWS_OF_SAVE)) {
            ps.setString(1, user.userId().toString());
            ps.setString(2, user.tenantId());
            ps.setString(3, saveId.toString());
            ps.setString(4, notBefore.toString());
            return events(ps, user);
        } catch (SQLException e) {
            throw new IllegalStateException("the audit rows of save " + saveId + " cannot be read: " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<AuditEvent> saveOf(UserKey user, Field field, long version, Instant notBefore) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(SAVE_OF_VERSION)) {
            ps.setString(1, user.userId().toString());
            ps.setString(2, user.tenantId());
            ps.setString(3, Long.toString(version));
            ps.setString(4, field.json());
            ps.setString(5, notBefore.toString());
            return events(ps, user).stream().findFirst();
        } catch (SQLException e) {
            throw new IllegalStateException("the audit row of version " + version + " cannot be read: " + e.getMessage(),
                    e);
        }
    }

    @Override
    public Map<Field, Long> storedVersions(UserKey user) {
        Map<Field, Long> newest = new EnumMap<>(Field.class);
        try {
            reads.profile(user).row().ifPresent(r -> merge(newest, r.fieldVersions()));
            reads.settings(user).row().ifPresent(r -> merge(newest, r.fieldVersions()));
        } catch (SQLException e) {
            throw new IllegalStateException("the tables cannot be read: " + e.getMessage(), e);
        }
        return newest;
    }

    private static void merge(Map<Field, Long> newest, String fieldVersions) {
        if (fieldVersions != null) {
            TargetRows.versionsOf(fieldVersions).forEach((f, v) -> newest.merge(f, v, Math::max));
        }
    }

    private static List<AuditEvent> events(PreparedStatement ps, UserKey user) throws SQLException {
        List<AuditEvent> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                Map<String, Object> details;
                try {
                    details = Json.MAPPER.readValue(rs.getString("details"), MAP);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                out.add(new AuditEvent(rs.getTimestamp("at").toInstant(), rs.getString("event"), user.tenantId(),
                        user.userId(), rs.getBoolean("success"), details));
            }
        }
        return out;
    }
}
