package dev.agentconfig.db;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Clock;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import javax.sql.DataSource;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.JdbcAuditSink;
import dev.agentconfig.core.Failure;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.save.IdempotencySettings;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.SaveTransactions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One transaction per save on the jdbc transport: the profile upsert, the settings call and the save's
 * audit row commit together, so a durable save costs one WAL flush (and concurrent saves share flushes:
 * PostgreSQL's group commit). Each target runs behind its own savepoint ({@link #inSavepoint}; the first that
 * writes needs none: the transaction is empty before it): a target the database refuses is rolled back alone, its failure goes to that target's dead-letter channel, and the
 * other target still lands. The connection is taken lazily by the first target that writes, so a save whose
 * breakers are open never waits for a connection.
 *
 * <p>A save's transaction is found by the save itself (the same {@link SealedSave} instance travels through
 * the target routes), never through anything a caller could name.
 */
public final class JdbcSaveTransactions implements SaveTransactions {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcSaveTransactions.class);

    private final DataSource dataSource;
    private final FailureClassifier classifier;
    private final Function<WriteResult, AuditEvent> auditOfSavedSave;
    private final IdempotencySettings idempotency;
    private final Clock wall;
    private final Map<SealedSave, Tx> open = Collections.synchronizedMap(new IdentityHashMap<>());

    /** A save's transaction: its connection once a target asked for it. */
    static final class Tx {
        private final DataSource dataSource;
        private Connection connection;
        /** A target's statement succeeded on the connection: its write lives only in this transaction. */
        private boolean wrote;

        Tx(DataSource dataSource) {
            this.dataSource = dataSource;
        }

        /**
         * The transaction's connection. The pool closes a connection that failed in a way that lost it (the
         * server went away, the backend was terminated); a target's in-request retry then gets a new one when
         * nothing of the save was written on the lost one (before: the retry reused the closed connection and
         * failed with a message without a code), and a connection failure (08003) when something was: that
         * write is gone with the connection, and the save is parked, not half-committed.
         */
        synchronized Connection connection() throws SQLException {
            if (connection != null && connection.isClosed()) {
                if (wrote) {
                    throw new SQLException("the save's connection was lost after a target wrote in its transaction",
                            "08003");
                }
                connection = null;
            }
            if (connection == null) {
                connection = begin(dataSource);
            }
            return connection;
        }

        synchronized Connection opened() {
            return connection;
        }

        /**
         * A target's statement in this transaction, behind its own savepoint, except the first one that writes:
         * before it the transaction holds nothing, so rolling the whole transaction back undoes exactly what a
         * savepoint would, and the save saves a round trip to the database (SAVEPOINT) on its happy path.
         */
        <T> T run(SqlWork<T> work) throws SQLException {
            Connection c = connection();
            boolean first;
            synchronized (this) {
                first = !wrote;
            }
            T answer = first ? alone(c, work) : inSavepoint(c, work);
            synchronized (this) {
                wrote = true;
            }
            return answer;
        }
    }

    public JdbcSaveTransactions(DataSource dataSource, FailureClassifier classifier,
                                Function<WriteResult, AuditEvent> auditOfSavedSave) {
        this(dataSource, classifier, auditOfSavedSave, new IdempotencySettings(Duration.ofHours(24), 1000),
                Clock.systemUTC());
    }

    /**
     * @param idempotency how long and how many Idempotency-Keys the database keeps per user
     * @param wall        the clock of their expiry (the service's wall clock)
     */
    public JdbcSaveTransactions(DataSource dataSource, FailureClassifier classifier,
                                Function<WriteResult, AuditEvent> auditOfSavedSave, IdempotencySettings idempotency,
                                Clock wall) {
        this.dataSource = dataSource;
        this.classifier = classifier;
        this.auditOfSavedSave = auditOfSavedSave;
        this.idempotency = idempotency;
        this.wall = wall;
    }

    @Override
    public WriteResult begin(WriteResult result) {
        open.put(result.save(), new Tx(dataSource));
        return result;
    }

    /** The transaction of a save, if its targets are being written in one. */
    Optional<Tx> of(SealedSave save) {
        return Optional.ofNullable(open.get(save));
    }

    /**
     * A statement of a target, behind its own savepoint: a failure rolls back only that statement. A savepoint
     * that was not needed is not released: the commit releases it, and RELEASE SAVEPOINT would cost a round
     * trip to the database per target (two per save) for nothing.
     */
    static <T> T inSavepoint(Connection c, SqlWork<T> work) throws SQLException {
        Savepoint sp = c.setSavepoint();
        try {
            return work.run(c);
        } catch (SQLException | RuntimeException e) {
            try {
                c.rollback(sp);
            } catch (SQLException rollback) {
                e.addSuppressed(rollback); // the connection itself is gone: the commit will say so too
            }
            throw e;
        }
    }

    /** The first statement of a transaction: a failure rolls the (otherwise empty) transaction back. */
    static <T> T alone(Connection c, SqlWork<T> work) throws SQLException {
        try {
            return work.run(c);
        } catch (SQLException | RuntimeException e) {
            try {
                c.rollback();
            } catch (SQLException rollback) {
                e.addSuppressed(rollback); // the connection itself is gone: the commit will say so too
            }
            throw e;
        }
    }

    /** A statement on a connection. */
    @FunctionalInterface
    interface SqlWork<T> {
        T run(Connection c) throws SQLException;
    }

    @Override
    public WriteResult commit(WriteResult result) {
        Tx tx = open.get(result.save());
        Connection c = tx == null ? null : tx.opened();
        if (c == null) {
            return result; // no target wrote (breakers open, nothing pending)
        }
        WriteResult out = result;
        try {
            recordIdempotencyKey(c, result);
            if (everyTargetSaved(result)) {
                JdbcAuditSink.insert(c, auditOfSavedSave.apply(result));
                out = result.markAudited();
            }
            c.commit();
            return out;
        } catch (SQLException e) {
            // a connection the pool closed after it was lost answers without a code: it is a lost connection
            Failure failure = classifier.classify(e.getSQLState() == null && closed(c)
                    ? new SQLException(e.getMessage(), "08003", e) : e);
            LOG.debug("Save {}: the commit failed ({} {}); nothing of it was written", result.save().saveId(),
                    failure.code(), failure.message());
            return result.uncommitted(failure);
        }
    }

    /**
     * The save's Idempotency-Key commits with it (migration V6), once a target took it in this transaction (saved,
     * or stale: the table held a newer value). Behind its own savepoint: a key that cannot be recorded costs the
     * save nothing but the record (logged); a retry then is not recognised after a restart.
     */
    private void recordIdempotencyKey(Connection c, WriteResult result) {
        SealedSave save = result.save();
        if (save.replay() || save.idempotencyRecord().isEmpty() || result.outcomes().values().stream()
                .noneMatch(o -> o instanceof TargetOutcome.Saved || o instanceof TargetOutcome.Stale)) {
            return;
        }
        try {
            inSavepoint(c, conn -> JdbcIdempotencyRecords.record(conn, save.user(), save.idempotencyRecord().get(),
                    idempotency.notBefore(wall.instant()), idempotency.perUser()));
        } catch (SQLException e) {
            LOG.warn("Save {} for {}: its Idempotency-Key could not be recorded ({} {}); the save itself goes on",
                    save.saveId(), save.user(), e.getSQLState(), e.getMessage());
        }
    }

    private static boolean closed(Connection c) {
        try {
            return c.isClosed();
        } catch (SQLException e) {
            return true;
        }
    }

    /** The common case, audited in the transaction: nothing to park, nothing stale (a stale save may be written again). */
    private static boolean everyTargetSaved(WriteResult result) {
        return !result.outcomes().isEmpty() && result.outcomes().values().stream()
                .allMatch(o -> o instanceof TargetOutcome.Saved && o.state() == TargetState.SAVED);
    }

    @Override
    public void release(WriteResult result) {
        Tx tx = open.remove(result.save());
        Connection c = tx == null ? null : tx.opened();
        if (c == null) {
            return;
        }
        end(c, result.save().saveId()); // (the save id, formatted only if DEBUG is on)
    }

    /**
     * Gives a transaction's connection back to the pool: rolled back (nothing is left after a commit; after a
     * failure, what was written), auto-commit on again, closed. Failures here are logged at DEBUG only: the
     * connection is being let go and the pool judges it.
     */
    static void end(Connection c, Object what) {
        try {
            c.rollback();
        } catch (SQLException e) {
            LOG.debug("Rollback of {}: {}", what, e.getMessage());
        }
        try {
            c.setAutoCommit(true);
        } catch (SQLException e) {
            LOG.debug("Auto-commit back on: {}", e.getMessage());
        }
        try {
            c.close();
        } catch (SQLException e) {
            LOG.debug("Connection back to the pool: {}", e.getMessage());
        }
    }

    /** A pool connection with a transaction open (autocommit off); closed again if that cannot be set. */
    static Connection begin(javax.sql.DataSource dataSource) throws SQLException {
        Connection c = dataSource.getConnection();
        try {
            c.setAutoCommit(false);
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        return c;
    }
}
