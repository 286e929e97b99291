package dev.agentconfig.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;

import javax.sql.DataSource;

import dev.agentconfig.core.IdempotencyRecord;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.transport.IdempotencyRecords;

/**
 * Idempotency-Keys over JDBC: the functions of migration V6, selected over the service's pool (a lookup, the
 * sync's recording of a parked save's key) or on the save's own connection ({@link #record(Connection, UserKey,
 * IdempotencyRecord, Instant, int)}, from db/JdbcTargetWrites: the key commits with the save).
 */
public final class JdbcIdempotencyRecords implements IdempotencyRecords {
    private static final String FIND = SqlFile.load("idempotency-find.sql");
    private static final String RECORD = SqlFile.load("idempotency-record.sql");

    private final DataSource dataSource;

    public JdbcIdempotencyRecords(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    @Override
    public Optional<IdempotencyRecord> find(UserKey user, String key, Instant notBefore) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(FIND)) {
            ps.setString(1, user.tenantId());
            ps.setString(2, user.userId().toString());
            ps.setString(3, key);
            ps.setObject(4, OffsetDateTime.ofInstant(notBefore, ZoneOffset.UTC));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? IdempotencyRecords.parse(rs.getString(1)) : Optional.empty();
            }
        }
    }

    @Override
    public IdempotencyRecord record(UserKey user, IdempotencyRecord record, Instant notBefore, int perUser)
            throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            return record(c, user, record, notBefore, perUser);
        }
    }

    /** On a given connection (in its transaction, if one is open). */
    static IdempotencyRecord record(Connection c, UserKey user, IdempotencyRecord record, Instant notBefore,
                                    int perUser) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(RECORD)) {
            ps.setString(1, user.tenantId());
            ps.setString(2, user.userId().toString());
            ps.setString(3, record.key());
            ps.setString(4, record.fingerprint());
            ps.setString(5, record.saveId().toString());
            ps.setLong(6, record.version());
            ps.setObject(7, OffsetDateTime.ofInstant(record.at(), ZoneOffset.UTC));
            ps.setObject(8, OffsetDateTime.ofInstant(notBefore, ZoneOffset.UTC));
            ps.setInt(9, perUser);
            try (ResultSet rs = ps.executeQuery()) {
                // null: the user's bound dropped this very record at once (older than all the others kept)
                return rs.next() ? IdempotencyRecords.parse(rs.getString(1)).orElse(record) : record;
            }
        }
    }
}
