package dev.agentconfig.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;

import javax.sql.DataSource;

import dev.agentconfig.core.UserKey;
import dev.agentconfig.transport.StoredRow;
import dev.agentconfig.transport.TargetReads;
import dev.agentconfig.transport.TargetRows;

/** The jdbc transport's reads: a user's row in each table, under the user AND the tenant. */
public final class JdbcReads implements TargetReads {
    private static final String READ_PROFILE = SqlFile.load("read-profile.sql");
    private static final String READ_SETTINGS = SqlFile.load("read-settings.sql");

    private final DataSource dataSource;

    public JdbcReads(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    @Override
    public StoredRow<TargetRows.ProfileRecord> profile(UserKey key) throws SQLException {
        return new StoredRow<>(key, profileRow(key));
    }

    @Override
    public StoredRow<TargetRows.SettingsRecord> settings(UserKey key) throws SQLException {
        return new StoredRow<>(key, settingsRow(key));
    }

    private Optional<TargetRows.ProfileRecord> profileRow(UserKey key) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(READ_PROFILE)) {
            ps.setString(1, key.userId().toString());
            ps.setString(2, key.tenantId());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new TargetRows.ProfileRecord(rs.getString("encrypted_retell_api_key"),
                        rs.getString("agent_config"), rs.getString("field_versions"), instant(rs, "updated_at")));
            }
        }
    }

    private Optional<TargetRows.SettingsRecord> settingsRow(UserKey key) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(READ_SETTINGS)) {
            ps.setString(1, key.userId().toString());
            ps.setString(2, key.tenantId());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new TargetRows.SettingsRecord(rs.getString("retell_config"),
                        rs.getString("encrypted_api_keys"), rs.getString("field_versions"),
                        instant(rs, "api_key_updated_at"), instant(rs, "updated_at")));
            }
        }
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
