package dev.agentconfig.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import javax.sql.DataSource;

import dev.agentconfig.core.Target;
import dev.agentconfig.json.Json;
import dev.agentconfig.transport.SealedKeys;

/** Key rotation over JDBC: the functions of migration V5, selected over the service's pool. */
public final class JdbcSealedKeys implements SealedKeys {
    private static final String USAGE = SqlFile.load("key-usage.sql");
    private static final String TO_RESEAL = SqlFile.load("keys-to-reseal.sql");
    private static final String RESEAL = SqlFile.load("reseal-keys.sql");

    private final DataSource dataSource;

    public JdbcSealedKeys(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** A scan of both tables: allowed longer than a save's statement timeout (its own transaction). */
    @Override
    public KeyCounts count() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SET LOCAL statement_timeout = '120s'");
                KeyCounts counts;
                try (ResultSet rs = st.executeQuery(USAGE)) {
                    rs.next();
                    counts = KeyCounts.of(Json.tree(rs.getString(1)));
                }
                c.commit();
                return counts;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        }
    }

    @Override
    public List<SealedKeyRow> toReseal(String activeKeyId, UUID after, int limit) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(TO_RESEAL)) {
            ps.setString(1, activeKeyId);
            if (after == null) {
                ps.setNull(2, Types.VARCHAR);
            } else {
                ps.setString(2, after.toString());
            }
            ps.setInt(3, limit);
            List<SealedKeyRow> rows = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new SealedKeyRow(Target.byTable(rs.getString("table_name")),
                            UUID.fromString(rs.getString("user_id")), rs.getString("tenant_id"),
                            rs.getString("key_value"), rs.getString("legacy_key")));
                }
            }
            return rows;
        }
    }

    @Override
    public List<ResealResult> reseal(List<Reseal> items) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(RESEAL)) {
            ps.setString(1, Reseal.json(items));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return ResealResult.of(Json.tree(rs.getString(1)));
            }
        }
    }
}
