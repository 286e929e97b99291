package dev.agentconfig.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.sql.DataSource;

import dev.agentconfig.core.UserKey;
import dev.agentconfig.receipt.FieldHistory;

/** The jdbc transport's field_history (migration V7), and its bounds written at start. */
public final class JdbcFieldHistory implements FieldHistory {
    private static final String SELECT = "SELECT id, field, kind, value, version, by_version, at FROM public.field_history "
            + "WHERE user_id = CAST(? AS uuid) AND tenant_id = ? ";

    private final DataSource dataSource;

    public JdbcFieldHistory(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** The bounds the trigger keeps per user (agentconfig.history.per-user, agentconfig.history.retention). */
    public void bounds(int perUser, Duration keep) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE agentconfig.field_history_settings SET per_user = ?, keep = CAST(? AS interval) WHERE id "
                        + "AND (per_user, keep) IS DISTINCT FROM (?, CAST(? AS interval))")) {
            ps.setInt(1, perUser);
            ps.setString(2, keep.toSeconds() + " seconds");
            ps.setInt(3, perUser);
            ps.setString(4, keep.toSeconds() + " seconds");
            ps.executeUpdate();
        }
    }

    @Override
    public List<Change> of(UserKey user, Instant notBefore) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(SELECT + "AND at >= CAST(? AS timestamptz) ORDER BY id DESC")) {
            ps.setString(1, user.userId().toString());
            ps.setString(2, user.tenantId());
            ps.setString(3, notBefore.toString());
            return changes(ps);
        } catch (SQLException e) {
            throw new IllegalStateException("the history cannot be read: " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<Change> find(UserKey user, long changeId) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(SELECT + "AND id = ?")) {
            ps.setString(1, user.userId().toString());
            ps.setString(2, user.tenantId());
            ps.setLong(3, changeId);
            return changes(ps).stream().findFirst();
        } catch (SQLException e) {
            throw new IllegalStateException("the history cannot be read: " + e.getMessage(), e);
        }
    }

    private static List<Change> changes(PreparedStatement ps) throws SQLException {
        List<Change> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Change(rs.getLong("id"), rs.getString("field"), rs.getString("kind"), rs.getString("value"),
                        rs.getLong("version"), rs.getLong("by_version"), rs.getTimestamp("at").toInstant()));
            }
        }
        return out;
    }
}
