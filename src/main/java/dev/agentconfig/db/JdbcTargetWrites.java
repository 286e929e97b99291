package dev.agentconfig.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import javax.sql.DataSource;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.JdbcAuditSink;
import dev.agentconfig.core.Failure;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.core.Failures;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.observe.Tracing;
import dev.agentconfig.save.IdempotencySettings;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.TargetRows;
import dev.agentconfig.transport.TargetWrites;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The jdbc transport's {@link TargetWrites}: group commits (shared/design/group-commit.md).
 *
 * <p><b>The queue.</b> A caller (a save's thread, a sync batch's) puts its saves on one bounded queue and waits
 * for their commit. A few writer threads (agentconfig.db.group-commit.writers) each take <em>everything</em>
 * queued (up to agentconfig.db.group-commit.max-group saves) as one group and write it in one transaction:
 * with one client a group holds one save and nothing waits for a timer; under load groups grow by themselves
 * while a commit is in flight, and a save costs a fraction of a commit and of the round trips. A full queue
 * parks the save at once ({@link Failures#queueFull}); a save whose group does not commit within
 * agentconfig.db.group-commit.wait is parked. Every save learns its outcome only after the commit (or the
 * failure): nothing is acknowledged before it is durable.
 *
 * <p><b>A group's transaction.</b> One multi-row statement per target (sql/upsert-profiles-batch.sql,
 * sql/settings-rpc-batch.sql: arrays and {@code unnest}, the per-field guards are the tables' row triggers),
 * then the saves' Idempotency-Keys and audit rows, then one commit. Two saves of one user in a group go in
 * successive statements ("rounds"), in arrival order. No savepoint on this path. If a statement fails for a
 * reason of one save's (a CHECK violation, another tenant's user, a dropped column, a deadlock) the transaction
 * is rolled back and the group written again with each target's statement behind a savepoint, and a refused
 * one save by save, each behind its own savepoint, exactly as a lone save: only that save gets the failure,
 * the other target still lands. A timeout fails that target's statement for its saves (the other target still
 * lands). The database gone, the connection lost, or a commit that fails is every save's failure of every
 * target it wanted written: none of it is acknowledged.
 *
 * <p><b>Traces.</b> With tracing on ({@link #tracedBy}), a group is one span "group commit" (observe/Tracing),
 * linked to the span each caller queued its saves under (taken on the caller's thread: the writer has none).
 */
public final class JdbcTargetWrites extends ServiceSupport implements TargetWrites {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcTargetWrites.class);
    private static final String UPSERT_PROFILES = SqlFile.load("upsert-profiles-batch.sql");
    private static final String SETTINGS_RPC_BATCH = SqlFile.load("settings-rpc-batch.sql");
    private static final String UPSERT_PROFILE = SqlFile.load("upsert-profile.sql");
    private static final String SETTINGS_RPC = SqlFile.load("settings-rpc.sql");

    private final DataSource dataSource;
    private final FailureClassifier classifier;
    private final GroupCommitSettings settings;
    private final IdempotencySettings idempotency;
    private final Clock wall;
    private final BlockingQueue<Pending> queue;
    private final DistributionSummary groupSizes;
    private final Counter commits;
    private final List<Thread> writers = new ArrayList<>();
    private volatile boolean running;
    private Tracing tracing = Tracing.OFF;

    /** One caller's saves waiting for their group's commit. */
    private static final class Pending {
        final List<WriteResult> saves;
        final AuditRow audit;
        final CompletableFuture<List<WriteResult>> done = new CompletableFuture<>();
        /** The caller's span, the link of its group's span (null: tracing off, or no span). */
        final SpanContext caller;

        Pending(List<WriteResult> saves, AuditRow audit, SpanContext caller) {
            this.saves = saves;
            this.audit = audit;
            this.caller = caller;
        }
    }

    public JdbcTargetWrites(DataSource dataSource, FailureClassifier classifier, GroupCommitSettings settings,
                            IdempotencySettings idempotency, Clock wall, MeterRegistry meters) {
        this.dataSource = dataSource;
        this.classifier = classifier;
        this.settings = settings;
        this.idempotency = idempotency;
        this.wall = wall;
        this.queue = new ArrayBlockingQueue<>(settings.queue());
        this.groupSizes = DistributionSummary.builder("agentconfig.save.group.size")
                .description("saves written together in one transaction (jdbc group commit)")
                .register(meters);
        this.commits = Counter.builder("agentconfig.save.group.commits")
                .description("group transactions committed (jdbc group commit)")
                .register(meters);
        Gauge.builder("agentconfig.save.group.queued", queue, BlockingQueue::size)
                .description("callers waiting for a group-commit writer (jdbc)")
                .register(meters);
    }

    /** Each group a span linked to its saves' spans (observe/Tracing); OFF by default. */
    public JdbcTargetWrites tracedBy(Tracing tracing) {
        this.tracing = tracing == null ? Tracing.OFF : tracing;
        return this;
    }

    /** Callers waiting for a writer right now (their saves are not being written yet). */
    public int queued() {
        return queue.size();
    }

    @Override
    public List<WriteResult> write(List<WriteResult> group, AuditRow audit) {
        if (group.isEmpty()) {
            return group;
        }
        AuditRow rows = audit == null ? AuditRow.NONE : audit;
        if (!running) {
            // not started (a tool, a test) or stopping: the caller's own thread writes its group
            return writeGroup(List.of(new Pending(group, rows, tracing.queuing()))).get(0);
        }
        Pending p = new Pending(group, rows, tracing.queuing());
        if (!queue.offer(p)) {
            return failWanted(group, Failures.queueFull(settings.queue()));
        }
        return await(p);
    }

    /** The caller waits for its group's commit; a save left too long in the queue is taken back and parked. */
    private List<WriteResult> await(Pending p) {
        long waitMs = settings.commitWait().toMillis();
        for (int round = 0; ; round++) {
            try {
                return p.done.get(waitMs, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (queue.remove(p) || round > 0) {
                    // never written (or its group still has not answered): parked; if that group commits after
                    // all, the replay of the parked save finds it there and changes nothing
                    return failWanted(p.saves, new Failure(FailureClass.TRANSIENT, Failures.CODE_TIMEOUT,
                            "the save's group did not commit within agentconfig.db.group-commit.wait"));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (queue.remove(p)) {
                    return failWanted(p.saves, classifier.classify(e));
                }
                return p.done.join();
            } catch (ExecutionException e) {
                return failWanted(p.saves, classifier.classify(e.getCause()));
            }
        }
    }

    @Override
    protected void doStart() {
        running = true;
        for (int i = 0; i < settings.writers(); i++) {
            Thread t = new Thread(this::writerLoop, "group-commit-" + (i + 1));
            t.setDaemon(true);
            writers.add(t);
            t.start();
        }
    }

    @Override
    protected void doStop() throws InterruptedException {
        running = false;
        for (Thread t : writers) {
            t.join(settings.commitWait().toMillis());
        }
        writers.clear();
        // whatever is left (a writer did not finish in time) is written by this thread
        List<Pending> left = new ArrayList<>();
        queue.drainTo(left);
        if (!left.isEmpty()) {
            complete(left, writeGroup(left));
        }
    }

    private void writerLoop() {
        List<Pending> group = new ArrayList<>();
        while (running || !queue.isEmpty()) {
            try {
                Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                group.add(first);
                int size = first.saves.size();
                Pending next;
                while (size < settings.maxGroup() && (next = queue.peek()) != null
                        && size + next.saves.size() <= settings.maxGroup() && queue.remove(next)) {
                    group.add(next);
                    size += next.saves.size();
                }
                List<List<WriteResult>> answers;
                try {
                    answers = writeGroup(group);
                } catch (RuntimeException e) {
                    Failure f = classifier.classify(e);
                    LOG.error("A group of {} saves could not be written ({}); they are parked", size, f.message(), e);
                    answers = new ArrayList<>();
                    for (Pending p : group) {
                        answers.add(failWanted(p.saves, f));
                    }
                }
                complete(group, answers);
            } catch (InterruptedException e) {
                if (!running) {
                    Thread.currentThread().interrupt();
                }
            } finally {
                group.clear();
            }
        }
    }

    private static void complete(List<Pending> group, List<List<WriteResult>> answers) {
        for (int k = 0; k < group.size(); k++) {
            group.get(k).done.complete(answers.get(k));
        }
    }

    // ----- one group, one transaction ------------------------------------------------------------------------

    /** @return per pending caller, its saves' results (in its order) */
    List<List<WriteResult>> writeGroup(List<Pending> pendings) {
        List<WriteResult> in = new ArrayList<>();
        List<AuditRow> audits = new ArrayList<>();
        for (Pending p : pendings) {
            in.addAll(p.saves);
            p.saves.forEach(s -> audits.add(p.audit));
        }
        groupSizes.record(in.size());
        Span span = tracing.on() ? tracing.groupCommit(pendings.stream().map(p -> p.caller).toList(), in.size())
                : null;
        List<WriteResult> out;
        try {
            out = writeAll(in, audits);
        } catch (RuntimeException | Error e) {
            if (span != null) {
                Tracing.groupCommitted(span, rounds(in), in.size(), e);
            }
            throw e;
        }
        if (span != null) {
            int failed = 0;
            for (WriteResult w : out) {
                if (w.outcomes().values().stream().anyMatch(o -> o.failure() != null)) {
                    failed++;
                }
            }
            Tracing.groupCommitted(span, rounds(in), failed, null);
        }
        List<List<WriteResult>> answers = new ArrayList<>(pendings.size());
        int from = 0;
        for (Pending p : pendings) {
            answers.add(out.subList(from, from + p.saves.size()));
            from += p.saves.size();
        }
        return answers;
    }

    private List<WriteResult> writeAll(List<WriteResult> in, List<AuditRow> audits) {
        Connection c;
        try {
            c = dataSource.getConnection();
            try {
                c.setAutoCommit(false);
            } catch (SQLException e) {
                c.close();
                throw e;
            }
        } catch (SQLException e) {
            return failWanted(in, classifier.classify(e));
        }
        try {
            Group fast = new Group(c, in, audits);
            SQLException error;
            try {
                fast.together();
                error = null;
            } catch (SQLException e) {
                error = e;
            }
            if (error == null) {
                return fast.commitOrFail();
            }
            Failure f = lostIfClosed(c, error);
            if (!rolledBack(c, error) || f.wholeGroup() || (f.timedOut() && fast.failedTarget == null)) {
                return failWanted(in, f);
            }
            LOG.debug("Group of {}: a statement was refused ({} {}); written again behind savepoints", in.size(),
                    f.code(), f.message());
            Group guarded = new Group(c, in, audits);
            if (f.timedOut()) {
                // waiting again would cost the same wait: that statement's target fails for its round, at once
                guarded.skip(fast.failedRound, fast.failedTarget, f);
            }
            Failure lost = guarded.guarded();
            return lost != null ? failWanted(in, lost) : guarded.commitOrFail();
        } finally {
            end(c);
        }
    }

    /** The saves of one group on one connection. */
    private final class Group {
        private final Connection c;
        private final WriteResult[] r;
        private final List<AuditRow> audits;
        private final boolean[] audited;

        Group(Connection c, List<WriteResult> in, List<AuditRow> audits) {
            this.c = c;
            this.r = in.toArray(WriteResult[]::new);
            this.audits = audits;
            this.audited = new boolean[r.length];
        }

        /** The statement that failed on the fast path: its round and target (null: not a target's statement). */
        Target failedTarget;
        int failedRound;
        private Target skipTarget;
        private int skipRound = -1;
        private Failure skipFailure;

        /** On the guarded path: this round's statement of this target is not tried again, it failed with f. */
        void skip(int round, Target target, Failure f) {
            skipRound = round;
            skipTarget = target;
            skipFailure = f;
        }

        /** The fast path: one statement per target per round, the keys, the audit rows; any error is thrown. */
        void together() throws SQLException {
            List<List<Integer>> rounds = rounds();
            for (int n = 0; n < rounds.size(); n++) {
                for (Target t : Target.values()) {
                    List<Integer> idx = wanting(rounds.get(n), t);
                    if (!idx.isEmpty()) {
                        failedRound = n;
                        failedTarget = t;
                        apply(t, idx, writeTogether(t, idx));
                    }
                }
            }
            failedTarget = null;
            for (int i = 0; i < r.length; i++) {
                if (keyToRecord(r[i])) {
                    recordKey(r[i].save());
                }
            }
            List<Integer> idx = new ArrayList<>();
            List<AuditEvent> rows = auditRows(idx);
            if (!rows.isEmpty()) {
                JdbcAuditSink.insertAll(c, rows);
                idx.forEach(i -> audited[i] = true);
            }
        }

        /**
         * The guarded path, after the fast one was rolled back: each target's statement of each round behind a
         * savepoint; one the database refuses is rolled back to it and that target written save by save, each
         * behind its own savepoint (a refused save fails alone, exactly as a lone save; the other target still
         * lands). A timeout fails that target for the round's saves (waiting again costs the same).
         *
         * @return the failure that ended the whole group (the connection lost, the database gone), or null
         */
        Failure guarded() {
            List<List<Integer>> rounds = rounds();
            for (int n = 0; n < rounds.size(); n++) {
                for (Target t : Target.values()) {
                    List<Integer> idx = wanting(rounds.get(n), t);
                    if (idx.isEmpty()) {
                        continue;
                    }
                    if (n == skipRound && t == skipTarget) {
                        fail(t, idx, skipFailure);
                        continue;
                    }
                    Savepoint sp = null;
                    try {
                        sp = c.setSavepoint();
                        apply(t, idx, writeTogether(t, idx));
                    } catch (SQLException e) {
                        Failure f = lostIfClosed(c, e);
                        if (sp == null || !rolledBack(c, sp, e) || f.wholeGroup()) {
                            return f;
                        }
                        if (f.timedOut()) {
                            fail(t, idx, f);
                            continue;
                        }
                        Failure lost = oneByOne(t, idx);
                        if (lost != null) {
                            return lost;
                        }
                    }
                }
            }
            for (int i = 0; i < r.length; i++) {
                if (keyToRecord(r[i])) {
                    // a key that cannot be recorded costs the save nothing but the record (logged)
                    Savepoint sp = null;
                    try {
                        sp = c.setSavepoint();
                        recordKey(r[i].save());
                    } catch (SQLException e) {
                        Failure f = lostIfClosed(c, e);
                        if (sp == null || !rolledBack(c, sp, e) || f.wholeGroup()) {
                            return f;
                        }
                        LOG.warn("Save {} for {}: its Idempotency-Key could not be recorded ({} {}); the save itself "
                                + "goes on", r[i].save().saveId(), r[i].save().user(), f.code(), f.message());
                    }
                }
            }
            List<Integer> idx = new ArrayList<>();
            List<AuditEvent> rows = auditRows(idx);
            if (!rows.isEmpty()) {
                Savepoint sp = null;
                try {
                    sp = c.setSavepoint();
                    JdbcAuditSink.insertAll(c, rows);
                    idx.forEach(i -> audited[i] = true);
                } catch (SQLException e) {
                    Failure f = lostIfClosed(c, e);
                    if (sp == null || !rolledBack(c, sp, e)) {
                        return f;
                    }
                    LOG.warn("A group's {} audit rows were not inserted with it ({} {}); they go through the audit "
                            + "queue", rows.size(), f.code(), f.message());
                }
            }
            return null;
        }

        /** One target, save by save, each behind its own savepoint. @return the failure of the whole group, or null */
        private Failure oneByOne(Target t, List<Integer> idx) {
            for (int k = 0; k < idx.size(); k++) {
                int i = idx.get(k);
                SealedSave save = r[i].save();
                Savepoint sp = null;
                try {
                    sp = c.setSavepoint();
                    r[i] = r[i].with(t == Target.USER_PROFILES
                            ? TargetRows.profileWritten(save, upsertProfile(c, TargetRows.profile(save)))
                            : TargetRows.settingsWritten(save, callSettings(c, TargetRows.settings(save))));
                } catch (SQLException e) {
                    Failure f = lostIfClosed(c, e);
                    if (sp == null || !rolledBack(c, sp, e) || f.wholeGroup()) {
                        return f;
                    }
                    if (f.timedOut()) {
                        fail(t, idx.subList(k, idx.size()), f);
                        return null;
                    }
                    r[i] = r[i].with(TargetOutcome.failed(t, f));
                }
            }
            return null;
        }

        /** The saves of a round that still want a target written, in the order every group locks rows in. */
        private List<Integer> wanting(List<Integer> round, Target t) {
            List<Integer> idx = new ArrayList<>();
            for (int i : round) {
                if (t == Target.USER_PROFILES ? r[i].wantsProfile() : r[i].wantsSettings()) {
                    idx.add(i);
                }
            }
            // the order of PostgreSQL's uuid (its text form's): concurrent transactions lock rows in one order
            idx.sort(Comparator.comparing(i -> r[i].save().userId().toString()));
            return idx;
        }

        /** One statement for the saves at idx; a save the statement did not answer is written alone. */
        private Map<Integer, String> writeTogether(Target t, List<Integer> idx) throws SQLException {
            Map<Integer, String> answers = t == Target.USER_PROFILES ? upsertAll(idx) : callAll(idx);
            for (int i : idx) {
                if (!answers.containsKey(i)) {
                    SealedSave save = r[i].save();
                    answers.put(i, t == Target.USER_PROFILES ? upsertProfile(c, TargetRows.profile(save))
                            : callSettings(c, TargetRows.settings(save)));
                }
            }
            return answers;
        }

        private void apply(Target t, List<Integer> idx, Map<Integer, String> answers) {
            for (int i : idx) {
                SealedSave save = r[i].save();
                r[i] = r[i].with(t == Target.USER_PROFILES ? TargetRows.profileWritten(save, answers.get(i))
                        : TargetRows.settingsWritten(save, answers.get(i)));
            }
        }

        private void fail(Target t, List<Integer> idx, Failure f) {
            for (int i : idx) {
                r[i] = r[i].with(TargetOutcome.failed(t, f));
            }
        }

        /** Commits; the results only now (with the rows audited in the transaction marked so). */
        List<WriteResult> commit() throws SQLException {
            c.commit();
            commits.increment();
            List<WriteResult> out = new ArrayList<>(r.length);
            for (int i = 0; i < r.length; i++) {
                out.add(audited[i] ? r[i].markAudited() : r[i]);
            }
            return out;
        }

        /** The slow path's commit: a commit that fails leaves every target it had written failed with it. */
        List<WriteResult> commitOrFail() {
            try {
                return commit();
            } catch (SQLException e) {
                Failure f = lostIfClosed(c, e);
                LOG.debug("Group of {}: the commit failed ({} {}); nothing of it was written", r.length, f.code(),
                        f.message());
                List<WriteResult> out = new ArrayList<>(r.length);
                for (WriteResult w : r) {
                    out.add(w.uncommitted(f));
                }
                return out;
            }
        }

        /** Rounds of the group: the n-th save of each user in the n-th round, so no statement meets a user twice. */
        private List<List<Integer>> rounds() {
            List<List<Integer>> rounds = new ArrayList<>();
            Map<Object, Integer> seen = new HashMap<>();
            for (int i = 0; i < r.length; i++) {
                int n = seen.merge(r[i].save().userId(), 1, Integer::sum) - 1;
                if (rounds.size() <= n) {
                    rounds.add(new ArrayList<>());
                }
                rounds.get(n).add(i);
            }
            return rounds;
        }

        private List<AuditEvent> auditRows(List<Integer> idx) {
            List<AuditEvent> rows = new ArrayList<>();
            for (int i = 0; i < r.length; i++) {
                AuditEvent row = audits.get(i).of(r[i]);
                if (row != null) {
                    idx.add(i);
                    rows.add(row);
                }
            }
            return rows;
        }

        private void recordKey(SealedSave save) throws SQLException {
            JdbcIdempotencyRecords.record(c, save.user(), save.idempotencyRecord().get(),
                    idempotency.notBefore(wall.instant()), idempotency.perUser());
        }

        /** user_profiles, one statement: per save index, the field_versions its row holds. */
        private Map<Integer, String> upsertAll(List<Integer> idx) throws SQLException {
            int n = idx.size();
            String[][] cols = new String[5][n];
            Map<String, Integer> byUser = new HashMap<>();
            for (int k = 0; k < n; k++) {
                TargetRows.ProfileRow row = TargetRows.profile(r[idx.get(k)].save());
                cols[0][k] = row.userId();
                cols[1][k] = row.tenantId();
                cols[2][k] = row.encryptedApiKey();
                cols[3][k] = row.agentConfig();
                cols[4][k] = row.fieldVersions();
                byUser.put(row.userId(), idx.get(k));
            }
            Map<Integer, String> answers = new HashMap<>();
            try (PreparedStatement ps = c.prepareStatement(UPSERT_PROFILES)) {
                bindArrays(ps, cols);
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

        /** user_settings, one statement calling the settings function per save: per save index, its answer. */
        private Map<Integer, String> callAll(List<Integer> idx) throws SQLException {
            int n = idx.size();
            String[][] cols = new String[5][n];
            for (int k = 0; k < n; k++) {
                TargetRows.SettingsArgs a = TargetRows.settings(r[idx.get(k)].save());
                cols[0][k] = a.userId();
                cols[1][k] = a.tenantId();
                cols[2][k] = a.retellConfig();
                cols[3][k] = a.encryptedApiKeys();
                cols[4][k] = a.fieldVersions();
            }
            Map<Integer, String> answers = new HashMap<>();
            try (PreparedStatement ps = c.prepareStatement(SETTINGS_RPC_BATCH)) {
                bindArrays(ps, cols);
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

        private void bindArrays(PreparedStatement ps, String[][] columns) throws SQLException {
            for (int k = 0; k < columns.length; k++) {
                ps.setArray(k + 1, c.createArrayOf("text", columns[k]));
            }
        }
    }

    /** The rounds of a group: the most saves one user has in it. */
    private static int rounds(List<WriteResult> in) {
        Map<Object, Integer> seen = new HashMap<>();
        int rounds = 0;
        for (WriteResult w : in) {
            rounds = Math.max(rounds, seen.merge(w.save().userId(), 1, Integer::sum));
        }
        return rounds;
    }

    /** The save's Idempotency-Key commits with it (V6) once a target took it (saved, or stale). */
    private static boolean keyToRecord(WriteResult w) {
        return !w.save().replay() && w.save().idempotencyRecord().isPresent() && w.outcomes().values().stream()
                .anyMatch(o -> o instanceof TargetOutcome.Saved || o instanceof TargetOutcome.Stale);
    }

    /** INSERT … ON CONFLICT (user_id) DO UPDATE for one save: the field_versions the row holds afterwards. */
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

    /** select public.update_user_api_keys(...) for one save: {"success":true,"field_versions":{...}} */
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

    private static String single(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** Every target each save still wanted written, failed with {@code f} (nothing of them was committed). */
    static List<WriteResult> failWanted(List<WriteResult> saves, Failure f) {
        List<WriteResult> out = new ArrayList<>(saves.size());
        for (WriteResult w : saves) {
            WriteResult r = w;
            if (r.wantsProfile()) {
                r = r.with(TargetOutcome.failed(Target.USER_PROFILES, f));
            }
            if (r.wantsSettings()) {
                r = r.with(TargetOutcome.failed(Target.USER_SETTINGS, f));
            }
            out.add(r);
        }
        return out;
    }

    /** A connection the pool closed after it was lost answers without a code: it is a lost connection. */
    private Failure lostIfClosed(Connection c, SQLException e) {
        return classifier.classify(e.getSQLState() == null && closed(c)
                ? new SQLException(e.getMessage(), Failures.CONNECTION_LOST_STATE, e) : e);
    }

    private static boolean closed(Connection c) {
        try {
            return c.isClosed();
        } catch (SQLException e) {
            return true;
        }
    }

    /** False when even the rollback failed: the connection is gone. */
    private static boolean rolledBack(Connection c, SQLException cause) {
        try {
            c.rollback();
            return true;
        } catch (SQLException rollback) {
            cause.addSuppressed(rollback);
            return false;
        }
    }

    private static boolean rolledBack(Connection c, Savepoint sp, SQLException cause) {
        try {
            c.rollback(sp);
            return true;
        } catch (SQLException rollback) {
            cause.addSuppressed(rollback);
            return false;
        }
    }

    /**
     * Gives a connection back to the pool: rolled back (nothing is left after a commit; after a failure, what
     * was written), auto-commit on again, closed. Failures here are logged at DEBUG only: the pool judges it.
     */
    static void end(Connection c) {
        try {
            c.rollback();
        } catch (SQLException e) {
            LOG.debug("Rollback of a group: {}", e.getMessage());
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
}
