package dev.agentconfig.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.IntPredicate;

import javax.sql.DataSource;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.JdbcAuditSink;
import dev.agentconfig.core.Failure;
import dev.agentconfig.core.Failures;
import dev.agentconfig.core.ReplayBatch;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.save.TargetBreakers;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.TargetRows;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sync's batch replay on the jdbc transport (route replay-batch-jdbc): a batch of local entries written
 * in one transaction, one multi-row statement per target (sql/upsert-profiles-batch.sql,
 * sql/settings-rpc-batch.sql), so a drain costs one commit per batch instead of one per entry. The
 * per-field guards are the tables' row triggers: they run for every row of a multi-row statement as for a
 * single one, so an old entry never overwrites a newer value.
 *
 * <p>Each target's statement runs behind its own savepoint. When the database refuses it for the batch
 * (one entry's CHECK violation, another tenant's user, a user twice in the batch, a deadlock), it is
 * rolled back to that savepoint and the target is written again entry by entry, each behind its own
 * savepoint: only the poison entry gets the failure, the rest of the batch still lands. A failure of the
 * whole batch (no connection, the connection lost, a statement timeout) is every entry's failure of that
 * target, and the breakers are told ({@link TargetBreakers#tripIfUnreachable}). A target whose breaker is
 * open is not attempted: its entries are deferred, not charged an attempt.
 *
 * <p>What each target made of each entry comes back as that entry's {@link WriteResult}, exactly as a
 * single replay's; each entry is then settled on its own (Replays, Settlement). The audit row of every entry
 * the batch wrote to all its pending targets is inserted in the batch's transaction before it commits (one
 * JDBC batch, behind a savepoint), and the entry marked audited: a drain of any size puts no row through the
 * audit trail's bounded queue. If the rows cannot be inserted, the targets still commit and those rows go
 * through the queue as before.
 */
public final class JdbcBatchReplay {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcBatchReplay.class);
    private static final String UPSERT_PROFILES = SqlFile.load("upsert-profiles-batch.sql");
    private static final String SETTINGS_RPC_BATCH = SqlFile.load("settings-rpc-batch.sql");

    private final DataSource dataSource;
    private final FailureClassifier classifier;
    private final TargetBreakers breakers;
    private final Function<WriteResult, AuditEvent> auditOfDrained;

    /** @param auditOfDrained the audit row of an entry written to all its pending targets, or null for another */
    public JdbcBatchReplay(DataSource dataSource, FailureClassifier classifier, TargetBreakers breakers,
                           Function<WriteResult, AuditEvent> auditOfDrained) {
        this.dataSource = dataSource;
        this.classifier = classifier;
        this.breakers = breakers;
        this.auditOfDrained = auditOfDrained;
    }

    /** The batch written in one transaction: each entry with what each of its pending targets made of it. */
    public ReplayBatch write(ReplayBatch batch) {
        if (batch.isEmpty()) {
            return batch;
        }
        WriteResult[] results = batch.entries().toArray(WriteResult[]::new);
        Work work = new Work(results);
        try {
            work.target(Target.USER_PROFILES, breakers.profile(), i -> results[i].save().writesProfile());
            // not for an entry whose user user_profiles found under another tenant (as a save)
            work.target(Target.USER_SETTINGS, breakers.settings(), i -> results[i].wantsSettings());
            work.commit();
        } finally {
            work.close();
        }
        return new ReplayBatch(Arrays.asList(results));
    }

    /** Waiting again or going on entry by entry would cost the same: the failure is the whole batch's. */
    static boolean wholeBatch(Failure f) {
        return f.outOfReach() || f.poolTimeout() || "57014".equals(f.code()) || Failures.CODE_TIMEOUT.equals(f.code());
    }

    /** One batch's transaction. */
    private final class Work {
        private final WriteResult[] results;
        private Connection connection;
        /** The connection (or the database) is gone: nothing more of this batch is written or committed. */
        private Failure lost;

        Work(WriteResult[] results) {
            this.results = results;
        }

        /** One target for every entry that wants it, in one statement when the database takes it whole. */
        void target(Target target, CircuitBreaker breaker, IntPredicate wants) {
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < results.length; i++) {
                if (wants.test(i)) {
                    idx.add(i);
                }
            }
            if (idx.isEmpty()) {
                return;
            }
            if (lost != null) {
                fail(idx, 0, target, lost);
                return;
            }
            if (!breaker.tryAcquirePermission()) {
                // the database is not asked: deferred (Settlement does not charge a breaker-open failure)
                fail(idx, 0, target, Failures.breakerOpen());
                return;
            }
            // the same order in every batch: concurrent batches lock their rows in one order
            idx.sort(Comparator.comparing(i -> results[i].save().userId().toString()));
            long t0 = System.nanoTime();
            SQLException error;
            try {
                error = writeAll(connection(), target, idx);
            } catch (SQLException e) {
                // no connection (pool timeout, database gone)
                error = e;
                lost = classifier.classify(e);
                fail(idx, 0, target, lost);
            } catch (RuntimeException e) {
                breaker.onError(System.nanoTime() - t0, TimeUnit.NANOSECONDS, e); // the permission is given back
                throw e;
            }
            long took = System.nanoTime() - t0;
            if (error == null) {
                breaker.onSuccess(took, TimeUnit.NANOSECONDS);
            } else {
                breaker.onError(took, TimeUnit.NANOSECONDS, error);
                breakers.tripIfUnreachable(classifier.classify(error));
            }
        }

        /** @return the failure of the whole batch for this target, or null */
        private SQLException writeAll(Connection c, Target target, List<Integer> idx) throws SQLException {
            Savepoint sp = c.setSavepoint();
            Map<Integer, String> answers;
            try {
                answers = target == Target.USER_PROFILES ? upsertProfiles(c, idx) : callSettings(c, idx);
                c.releaseSavepoint(sp);
            } catch (SQLException e) {
                Failure f = classifier.classify(e);
                if (!rolledBack(c, sp, e) || f.outOfReach()) {
                    lost = f;
                }
                if (lost != null || wholeBatch(f)) {
                    fail(idx, 0, target, f);
                    return e;
                }
                LOG.debug("Sync batch: {} refused the statement for {} entries ({} {}); writing them one by one",
                        target.table(), idx.size(), f.code(), f.message());
                return oneByOne(c, target, idx);
            }
            List<Integer> unanswered = new ArrayList<>();
            for (int i : idx) {
                String answer = answers.get(i);
                if (answer == null) {
                    unanswered.add(i);
                } else {
                    results[i] = results[i].with(written(target, results[i].save(), answer));
                }
            }
            return unanswered.isEmpty() ? null : oneByOne(c, target, unanswered);
        }

        /** Entry by entry, each behind its own savepoint: a refused entry fails alone. */
        private SQLException oneByOne(Connection c, Target target, List<Integer> idx) {
            for (int k = 0; k < idx.size(); k++) {
                int i = idx.get(k);
                SealedSave save = results[i].save();
                Savepoint sp;
                try {
                    sp = c.setSavepoint();
                } catch (SQLException e) {
                    lost = classifier.classify(e);
                    fail(idx, k, target, lost);
                    return e;
                }
                try {
                    String answer = target == Target.USER_PROFILES
                            ? JdbcTargets.upsertProfile(c, TargetRows.profile(save))
                            : JdbcTargets.callSettings(c, TargetRows.settings(save));
                    c.releaseSavepoint(sp);
                    results[i] = results[i].with(written(target, save, answer));
                } catch (SQLException e) {
                    Failure f = classifier.classify(e);
                    if (!rolledBack(c, sp, e) || f.outOfReach()) {
                        lost = f;
                    }
                    if (lost != null || wholeBatch(f)) {
                        fail(idx, k, target, f);
                        return e;
                    }
                    results[i] = results[i].with(TargetOutcome.failed(target, f));
                }
            }
            return null;
        }

        /** user_profiles, one statement: answers per entry index the field_versions its row holds. */
        private Map<Integer, String> upsertProfiles(Connection c, List<Integer> idx) throws SQLException {
            int n = idx.size();
            String[] users = new String[n];
            String[] tenants = new String[n];
            String[] keys = new String[n];
            String[] configs = new String[n];
            String[] versions = new String[n];
            Map<String, Integer> byUser = new HashMap<>();
            for (int k = 0; k < n; k++) {
                TargetRows.ProfileRow row = TargetRows.profile(results[idx.get(k)].save());
                users[k] = row.userId();
                tenants[k] = row.tenantId();
                keys[k] = row.encryptedApiKey();
                configs[k] = row.agentConfig();
                versions[k] = row.fieldVersions();
                byUser.put(row.userId(), idx.get(k));
            }
            Map<Integer, String> answers = new HashMap<>();
            try (PreparedStatement ps = c.prepareStatement(UPSERT_PROFILES)) {
                bindArrays(c, ps, users, tenants, keys, configs, versions);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Integer i = byUser.get(rs.getString(1));
                        if (i != null) {
                            answers.put(i, rs.getString(2));
                        }
                    }
                }
            }
            return answers;
        }

        /** user_settings, one statement calling the settings function per entry: answers per entry index. */
        private Map<Integer, String> callSettings(Connection c, List<Integer> idx) throws SQLException {
            int n = idx.size();
            String[] users = new String[n];
            String[] tenants = new String[n];
            String[] configs = new String[n];
            String[] keys = new String[n];
            String[] versions = new String[n];
            for (int k = 0; k < n; k++) {
                TargetRows.SettingsArgs args = TargetRows.settings(results[idx.get(k)].save());
                users[k] = args.userId();
                tenants[k] = args.tenantId();
                configs[k] = args.retellConfig();
                keys[k] = args.encryptedApiKeys();
                versions[k] = args.fieldVersions();
            }
            Map<Integer, String> answers = new HashMap<>();
            try (PreparedStatement ps = c.prepareStatement(SETTINGS_RPC_BATCH)) {
                bindArrays(c, ps, users, tenants, configs, keys, versions);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long position = rs.getLong(1);
                        String answer = rs.getString(2);
                        if (position >= 1 && position <= n && answer != null) {
                            answers.put(idx.get((int) position - 1), answer);
                        }
                    }
                }
            }
            return answers;
        }

        void commit() {
            if (connection == null) {
                return; // nothing was written (breakers open, nothing pending)
            }
            if (lost != null) {
                uncommitted(lost);
                return;
            }
            List<Integer> audited = audit(connection);
            try {
                connection.commit();
                for (int i : audited) {
                    results[i] = results[i].markAudited();
                }
            } catch (SQLException e) {
                Failure f = classifier.classify(e);
                LOG.debug("Sync batch: the commit failed ({} {}); nothing of the batch was written", f.code(),
                        f.message());
                uncommitted(f);
                breakers.tripIfUnreachable(f);
            }
        }

        /**
         * The audit rows of the entries written to every pending target, inserted on the batch's connection
         * behind a savepoint. @return the indexes of the entries whose row is in the transaction
         */
        private List<Integer> audit(Connection c) {
            List<Integer> idx = new ArrayList<>();
            List<AuditEvent> rows = new ArrayList<>();
            for (int i = 0; i < results.length; i++) {
                AuditEvent row = auditOfDrained.apply(results[i]);
                if (row != null) {
                    idx.add(i);
                    rows.add(row);
                }
            }
            if (rows.isEmpty()) {
                return idx;
            }
            Savepoint sp;
            try {
                sp = c.setSavepoint();
            } catch (SQLException e) {
                LOG.warn("Sync batch: no savepoint for its {} audit rows ({}); they go through the audit queue",
                        rows.size(), e.getMessage());
                return List.of();
            }
            try {
                JdbcAuditSink.insertAll(c, rows);
                c.releaseSavepoint(sp);
                return idx;
            } catch (SQLException e) {
                rolledBack(c, sp, e);
                LOG.warn("Sync batch: its {} audit rows were not inserted with it ({} {}); they go through the audit "
                        + "queue", rows.size(), e.getSQLState(), e.getMessage());
                return List.of();
            }
        }

        /** What the batch wrote was not committed: every target it had written failed with it. */
        private void uncommitted(Failure f) {
            for (int i = 0; i < results.length; i++) {
                results[i] = results[i].uncommitted(f);
            }
        }

        private void fail(List<Integer> idx, int from, Target target, Failure f) {
            for (int k = from; k < idx.size(); k++) {
                int i = idx.get(k);
                results[i] = results[i].with(TargetOutcome.failed(target, f));
            }
        }

        private Connection connection() throws SQLException {
            if (connection == null) {
                connection = JdbcSaveTransactions.begin(dataSource);
            }
            return connection;
        }

        void close() {
            Connection c = connection;
            if (c == null) {
                return;
            }
            JdbcSaveTransactions.end(c, "a sync batch");
        }
    }

    private static TargetOutcome written(Target target, SealedSave save, String answer) {
        return target == Target.USER_PROFILES ? TargetRows.profileWritten(save, answer)
                : TargetRows.settingsWritten(save, answer);
    }

    private static void bindArrays(Connection c, PreparedStatement ps, String[]... columns) throws SQLException {
        for (int k = 0; k < columns.length; k++) {
            ps.setArray(k + 1, c.createArrayOf("text", columns[k]));
        }
    }

    /** False when even the rollback to the savepoint failed: the connection is gone. */
    private static boolean rolledBack(Connection c, Savepoint sp, SQLException cause) {
        try {
            c.rollback(sp);
            return true;
        } catch (SQLException rollback) {
            cause.addSuppressed(rollback);
            return false;
        }
    }
}
