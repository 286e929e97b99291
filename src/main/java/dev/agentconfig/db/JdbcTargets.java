package dev.agentconfig.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import javax.sql.DataSource;

import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.transport.TargetRows;

/**
 * The jdbc transport's target writes (routes/transport-jdbc.camel.yaml): a sealed save in, what the
 * table made of it out. A failure is thrown as it is (a SQLException with its SQLSTATE) for the target's
 * breaker and dead-letter channel to classify.
 */
public final class JdbcTargets {
    private static final String UPSERT_PROFILE = SqlFile.load("upsert-profile.sql");
    private static final String SETTINGS_RPC = SqlFile.load("settings-rpc.sql");

    private final DataSource dataSource;
    private final JdbcSaveTransactions transactions;

    public JdbcTargets(DataSource dataSource, JdbcSaveTransactions transactions) {
        this.dataSource = dataSource;
        this.transactions = transactions;
    }

    /** INSERT … ON CONFLICT (user_id) DO UPDATE, answered with the field_versions the trigger kept. */
    public TargetOutcome upsertProfile(SealedSave save) throws SQLException {
        TargetRows.ProfileRow row = TargetRows.profile(save);
        return TargetRows.profileWritten(save, run(save, c -> upsertProfile(c, row)));
    }

    /** The upsert on a connection: the field_versions the row holds afterwards. */
    static String upsertProfile(Connection c, TargetRows.ProfileRow row) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(UPSERT_PROFILE)) {
            ps.setString(1, row.userId());
            ps.setString(2, row.tenantId());
            ps.setString(3, row.encryptedApiKey());
            ps.setString(4, row.agentConfig());
            ps.setString(5, row.fieldVersions());
            return single(ps);
        }
    }

    /** select public.update_user_api_keys(...): {"success":true,"field_versions":{...}} */
    public TargetOutcome callSettings(SealedSave save) throws SQLException {
        TargetRows.SettingsArgs args = TargetRows.settings(save);
        return TargetRows.settingsWritten(save, run(save, c -> callSettings(c, args)));
    }

    /** The settings function on a connection: its answer. */
    static String callSettings(Connection c, TargetRows.SettingsArgs args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SETTINGS_RPC)) {
            ps.setString(1, args.userId());
            ps.setString(2, args.tenantId());
            ps.setString(3, args.retellConfig());
            ps.setString(4, args.encryptedApiKeys());
            ps.setString(5, args.fieldVersions());
            return single(ps);
        }
    }

    /** In the save's transaction behind a savepoint, or (no transaction) on a connection of its own. */
    private <T> T run(SealedSave save, JdbcSaveTransactions.SqlWork<T> work) throws SQLException {
        var tx = transactions.of(save);
        if (tx.isPresent()) {
            return tx.get().run(work);
        }
        try (Connection c = dataSource.getConnection()) {
            return work.run(c);
        }
    }

    private static String single(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            return rs.next() ? rs.getString(1) : null;
        }
    }
}
