package dev.agentconfig.sync;

import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.observe.Tracing;
import dev.agentconfig.core.Failure;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.ReplayBatch;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.save.FailurePolicy;
import dev.agentconfig.save.IdempotencyKeys;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.store.StoreChange;
import dev.agentconfig.sync.ReplayOutcome.Result;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of the replay routes: local entries replayed to the targets they are still pending for, with
 * the versions they hold, then each settled on its own. A batch goes through the save's own write path
 * ({@link #write}: transport/TargetWrites behind save/FailurePolicy), as one group (route sync-pass, its split's steps).
 */
public final class Replays {
    private static final Logger LOG = LoggerFactory.getLogger(Replays.class);

    private final LocalStore store;
    private final Backoff backoff;
    private final SyncMetrics metrics;
    private final AuditTrail audit;
    private final dev.agentconfig.core.ChangeFeed changeFeed;
    private final IdempotencyKeys idempotencyKeys;
    private final FailurePolicy writes;
    private Tracing tracing = Tracing.OFF;

    public Replays(LocalStore store, Backoff backoff, SyncMetrics metrics, AuditTrail audit) {
        this(store, backoff, metrics, audit, dev.agentconfig.core.ChangeFeed.NONE);
    }

    /** @param changeFeed told of every entry settled for good (synced, quarantined); must not throw */
    public Replays(LocalStore store, Backoff backoff, SyncMetrics metrics, AuditTrail audit,
                   dev.agentconfig.core.ChangeFeed changeFeed) {
        this(store, backoff, metrics, audit, changeFeed, null);
    }

    public Replays(LocalStore store, Backoff backoff, SyncMetrics metrics, AuditTrail audit,
                   dev.agentconfig.core.ChangeFeed changeFeed, IdempotencyKeys idempotencyKeys) {
        this(store, backoff, metrics, audit, changeFeed, idempotencyKeys, null);
    }

    /**
     * @param idempotencyKeys records a parked save's Idempotency-Key before its entry is replayed (null: not)
     * @param writes          the save's own write path (transport/TargetWrites behind save/FailurePolicy)
     */
    public Replays(LocalStore store, Backoff backoff, SyncMetrics metrics, AuditTrail audit,
                   dev.agentconfig.core.ChangeFeed changeFeed, IdempotencyKeys idempotencyKeys, FailurePolicy writes) {
        this.writes = writes;
        this.idempotencyKeys = idempotencyKeys;
        this.changeFeed = changeFeed;
        this.store = store;
        this.backoff = backoff;
        this.metrics = metrics;
        this.audit = audit;
    }

    /** The replay of an entry in the trace of the request that parked it (observe/Tracing); OFF by default. */
    public Replays tracedBy(Tracing tracing) {
        this.tracing = tracing == null ? Tracing.OFF : tracing;
        return this;
    }

    /**
     * The entry as a save (each field at the version and saveId it was stored with; the key stays its
     * envelope: nothing is decrypted for a replay), or an outcome when there is nothing to replay: the
     * entry is gone, no longer pending and due, or the pass has stopped. Read without the entry's lock:
     * a write is a rename, so the file read is whole.
     */
    public Object load(SyncPlan.Replay replay) {
        if (replay.plan().stopped()) {
            return ReplayOutcome.of(replay.key(), Result.DEFERRED);
        }
        // kept parsed by the store until the settle (LocalStore#load): read and parsed once when nothing changes
        var entry = store.load(replay.key());
        if (entry.isEmpty()) {
            store.update(replay.key(), current -> new dev.agentconfig.store.StoreChange.Keep<>(Result.GONE));
            return ReplayOutcome.of(replay.key(), Result.GONE);
        }
        PendingEntry e = entry.get();
        if (!e.pending() || e.nextAttempt().isAfter(Instant.now())) {
            return ReplayOutcome.of(replay.key(), Result.GONE);
        }
        if (idempotencyKeys != null && !e.idempotencyKeys().isEmpty()) {
            Optional<PendingEntry> left = withoutRepeats(e);
            if (left == null) {
                return ReplayOutcome.of(replay.key(), Result.DEFERRED);
            }
            if (left.isEmpty()) {
                return ReplayOutcome.of(replay.key(), Result.GONE);
            }
            e = left.get();
        }
        tracing.replaying(e);
        return e.asReplay();
    }

    /**
     * The entry's Idempotency-Keys recorded in the database first (save/IdempotencyKeys#alreadyApplied); the
     * fields of a parked save whose key the database holds for another save (a repeat, parked while the database
     * could not be asked) dropped from it under its lock: replayed, they would overwrite what came after the
     * save they repeat. Empty: nothing left (the entry is removed). Null: the keys cannot be recorded now (the
     * entry waits for the next pass, untouched).
     */
    private Optional<PendingEntry> withoutRepeats(PendingEntry e) {
        Set<String> repeats;
        try {
            repeats = idempotencyKeys.alreadyApplied(e);
        } catch (Exception ex) {
            LOG.warn("Sync: the Idempotency-Keys of local entry {} cannot be recorded in the database ({}); it is "
                    + "not replayed before they are", e.key(), ex.getMessage());
            return null;
        }
        if (repeats.isEmpty()) {
            return Optional.of(e);
        }
        return store.update(e.key(), current -> {
            if (current.isEmpty()) {
                return new StoreChange.Keep<>(Optional.<PendingEntry>empty());
            }
            PendingEntry without = current.get().withoutSaves(repeats, Instant.now());
            if (without.fields().isEmpty()) {
                return new StoreChange.Remove<>(current.get().revision(), Optional.<PendingEntry>empty(),
                        Optional.<PendingEntry>empty());
            }
            return new StoreChange.Write<>(without, Optional.of(without));
        });
    }

    /**
     * A batch's entries as saves to write ({@link #load} each); an entry with nothing to replay (gone, not
     * due any more, the pass stopped) is recorded in the pass at once and left out.
     */
    public ReplayBatch loadBatch(SyncPlan.Batch batch) {
        List<WriteResult> entries = new ArrayList<>(batch.replays().size());
        for (SyncPlan.Replay replay : batch.replays()) {
            Object loaded = load(replay);
            if (loaded instanceof SealedSave save) {
                entries.add(WriteResult.of(save));
            } else {
                batch.plan().record((ReplayOutcome) loaded);
            }
        }
        return new ReplayBatch(entries);
    }

    /**
     * The batch written through the save's own write path, as one group: on the jdbc transport one transaction
     * (one multi-row statement per target; a statement refused for the group is redone entry by entry, so a poison
     * entry fails alone), over PostgREST one request per target per entry. No lock is held meanwhile.
     */
    public ReplayBatch write(ReplayBatch batch) {
        // the "sync" audit row of an entry drained by the batch commits with it (jdbc)
        return writes.replay(batch, Replays::auditOfDrained);
    }

    /**
     * Each entry of a written batch settled on its own ({@link #settle}, under its lock). An entry whose
     * settling fails unexpectedly is left as it was (failed) without keeping the others from settling.
     */
    public List<ReplayOutcome> settleBatch(ReplayBatch batch) {
        List<ReplayOutcome> outcomes = new ArrayList<>(batch.entries().size());
        for (WriteResult result : batch.entries()) {
            try {
                outcomes.add(settle(result));
            } catch (RuntimeException e) {
                LOG.error("Sync: local entry {} could not be settled; it stays as it was", result.save().user(), e);
                outcomes.add(ReplayOutcome.of(result.save().user(), Result.FAILED));
            }
        }
        return outcomes;
    }

    /**
     * Under the entry's lock: removed (only at the revision replayed), kept with the targets still
     * pending and backoff, or quarantined; then the meters, the audit trail, the log.
     */
    public ReplayOutcome settle(WriteResult result) {
        SealedSave replayed = result.save();
        Map<Target, TargetOutcome> outcomes = result.outcomes();
        Result r = store.update(replayed.user(),
                current -> Settlement.decide(replayed, outcomes, current, Instant.now(), backoff));
        return settled(result, r, "local entry");
    }

    /**
     * A record of the parking topic replayed (kafka/ParkedDrain, agentconfig.parking=kafka): what
     * {@link Settlement} decides for its entry, as for a local entry, with the same meters, audit row, change feed
     * and log; nothing is stored (the record stays on the topic until its offset is committed).
     *
     * @param entry the record's entry as it was replayed
     * @return the result and, when it is kept (retrying or quarantined), the entry as settled (its last error and
     *         next attempt); null otherwise
     */
    public ParkedSettlement settleParked(WriteResult result, PendingEntry entry) {
        StoreChange<Result> change = Settlement.decide(result.save(), result.outcomes(), Optional.of(entry),
                Instant.now(), backoff);
        Result r = change.result();
        settled(result, r, "parked record");
        return new ParkedSettlement(r, change instanceof StoreChange.Write<Result> w ? w.entry() : null);
    }

    /** What became of a parked record's entry: {@code entry} is the entry as settled when it is kept, or null. */
    public record ParkedSettlement(Result result, PendingEntry entry) {
    }

    /**
     * A parked record's entry without the saves the database already holds under their Idempotency-Key, as the
     * local drain does before a replay ({@link #withoutRepeats}): its keys recorded in the database first.
     *
     * @return the entry to replay (empty: nothing left), or null when the keys cannot be recorded now
     */
    public Optional<PendingEntry> parkedWithoutRepeats(PendingEntry e) {
        if (idempotencyKeys == null || e.idempotencyKeys().isEmpty()) {
            return Optional.of(e);
        }
        Set<String> repeats;
        try {
            repeats = idempotencyKeys.alreadyApplied(e);
        } catch (Exception ex) {
            LOG.warn("Drain: the Idempotency-Keys of parked record {} cannot be recorded in the database ({}); it is "
                    + "not replayed before they are", e.key(), ex.getMessage());
            return null;
        }
        if (repeats.isEmpty()) {
            return Optional.of(e);
        }
        PendingEntry without = e.withoutSaves(repeats, Instant.now());
        return without.fields().isEmpty() ? Optional.empty() : Optional.of(without);
    }

    /** The meters, the audit trail, the change feed and the log of a replayed entry settled as {@code r}. */
    private ReplayOutcome settled(WriteResult result, Result r, String what) {
        SealedSave replayed = result.save();
        Map<Target, TargetOutcome> outcomes = result.outcomes();
        Map<Target, TargetState> states = new EnumMap<>(Target.class);
        boolean unreachable = false;
        Failure keeping = null;
        for (TargetOutcome o : outcomes.values()) {
            states.put(o.target(), o.state());
            Failure f = o.failure();
            metrics.replayed(o.target(), f != null && f.breakerOpen() ? "deferred" : o.state().id());
            unreachable |= f != null && f.perhapsUnreachable();
            if (f != null && (keeping == null || f.failureClass() != dev.agentconfig.core.FailureClass.TRANSIENT)) {
                keeping = f;
            }
        }
        ReplayOutcome outcome = new ReplayOutcome(replayed.user(), r, states, keeping, unreachable);
        if (r == Result.DRAINED) {
            metrics.drained();
        }
        if (states.values().stream().anyMatch(s -> s == TargetState.SAVED || s == TargetState.STALE)) {
            store.tablesHold(replayed.user()); // the tables hold the user under this tenant
        }
        if (r == Result.DRAINED || r == Result.QUARANTINED) {
            Instant now = Instant.now();
            if (!result.audited()) {
                // over PostgREST, or when the batch could not write its rows: through the audit trail's queue
                audit.record(syncAudit(replayed, r, states, keeping, now));
            }
            // in the replay's span: the change feed's record carries the parked save's trace
            tracing.inReplay(replayed.user(), () -> changeFeed.publish(dev.agentconfig.core.ConfigChange.settled(
                    replayed, r == Result.DRAINED ? dev.agentconfig.core.ConfigChange.SYNCED
                            : dev.agentconfig.core.SaveOutcome.QUARANTINED, states, now)));
        }
        tracing.replayed(replayed.user(), r.name().toLowerCase(java.util.Locale.ROOT));
        if (r == Result.QUARANTINED && what.equals("local entry")) {
            LOG.warn("Sync: {} {} quarantined: {} {} ({}); fix the data or the database, then POST "
                    + "/api/v1/agent-config/{}/{}/retry (or give it up: POST …/abandon)", what, replayed.user(),
                    keeping.failureClass().id(), keeping.code(), keeping.message(), replayed.tenantId(),
                    replayed.userId());
        } else if (LOG.isDebugEnabled()) {
            LOG.debug("Sync: {} {} replayed: {} {}", what, replayed.user(), r.id(), states);
        }
        return outcome;
    }

    /**
     * The audit row of an entry whose replay reached every target it was pending for, when the batch that
     * wrote it can commit it in its own transaction (db/JdbcTargetWrites, through the write port); null when it
     * did not.
     */
    public static AuditEvent auditOfDrained(WriteResult result) {
        SealedSave replayed = result.save();
        Map<Target, TargetState> states = new EnumMap<>(Target.class);
        for (Target t : replayed.targets()) {
            TargetState s = result.state(t);
            if (s != TargetState.SAVED && s != TargetState.STALE) {
                return null;
            }
        }
        result.outcomes().forEach((t, o) -> states.put(t, o.state()));
        return syncAudit(replayed, Result.DRAINED, states, null, Instant.now());
    }

    /** The "sync" audit row of an entry settled for good: drained or quarantined. */
    private static AuditEvent syncAudit(SealedSave replayed, Result r, Map<Target, TargetState> states, Failure keeping,
                                        Instant now) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("result", r.id());
        Map<String, String> targets = new LinkedHashMap<>();
        states.forEach((t, s) -> targets.put(t.table(), s.id()));
        details.put("targets", targets);
        details.put("fields", replayed.fields().keySet().stream().map(dev.agentconfig.core.Field::json).toList());
        // the saves whose values the entry held: their receipts find this row (receipt/Receipts)
        details.put("saveIds", replayed.fields().values().stream().map(v -> v.saveId().toString()).distinct()
                .sorted().toList());
        if (keeping != null) {
            details.put("failureClass", keeping.failureClass().id());
            details.put("code", keeping.code());
        }
        return new AuditEvent(now, "sync", replayed.tenantId(), replayed.userId(), r == Result.DRAINED, details);
    }

    /**
     * Fault injection (agentconfig.sync.fault.halt-after-db-write, default false, for the crash test
     * only): the JVM stops dead, as under SIGKILL, after the replay wrote to the database and before
     * the entry is settled.
     */
    public void haltAfterBatchWrite(ReplayBatch batch) {
        if (batch.wroteAny()) {
            LOG.error("FAULT INJECTION (agentconfig.sync.fault.halt-after-db-write): halting the JVM after the "
                    + "database write of {} and before their local entries are settled",
                    batch.entries().stream().map(w -> w.save().user().toString()).toList());
            System.out.flush();
            Runtime.getRuntime().halt(137);
        }
    }
}
