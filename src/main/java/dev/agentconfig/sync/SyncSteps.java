package dev.agentconfig.sync;

import java.time.Instant;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.core.Failure;
import dev.agentconfig.failure.FailureClassifier;
import dev.agentconfig.core.Changes;
import dev.agentconfig.core.Field;
import dev.agentconfig.save.PreparedSave;
import dev.agentconfig.save.SaveContext;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.store.EntryKey;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.store.PendingEntry;
import dev.agentconfig.sync.ReplayOutcome.Result;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of routes replay-entry and settle-replay (routes/sync.camel.yaml): one local entry
 * replayed to the targets it is still pending for, with the versions it holds, through the save
 * path's own target routes (direct:write-profile / direct:write-settings with a replay
 * SaveContext, so their dead-letter channel records the classified failure without parking);
 * then, under the key's lock, the entry settled (removed, trimmed, backed off or quarantined).
 */
public final class SyncSteps {
    private static final Logger LOG = LoggerFactory.getLogger(SyncSteps.class);
    public static final String REPLAYED_PROPERTY = "agentconfig.replay.entry";
    public static final String KEY_PROPERTY = "agentconfig.replay.key";
    public static final String ACTION_PROPERTY = "agentconfig.replay.action";
    public static final String OUTCOME_PROPERTY = "agentconfig.replay.outcome";
    private static final String DECISION_PROPERTY = "agentconfig.replay.decision";

    private final LocalStore store;
    private final Backoff backoff;
    private final SyncMetrics metrics;
    private final AuditTrail audit;

    public SyncSteps(LocalStore store, Backoff backoff, SyncMetrics metrics, AuditTrail audit) {
        this.store = store;
        this.backoff = backoff;
        this.metrics = metrics;
        this.audit = audit;
    }

    // ----- replay-entry ------------------------------------------------------------------------

    /**
     * Reads the entry (without its lock: a write is a rename, so the file read is whole) and, when
     * it is still pending and due, turns it into a replay of its fields at their own versions. The
     * key stays the envelope it is on disk: nothing is decrypted for a replay.
     */
    public void beginReplay(Exchange exchange) {
        EntryKey key = exchange.getMessage().getBody(EntryKey.class);
        exchange.getMessage().setBody(null);
        exchange.setProperty(KEY_PROPERTY, key);
        Optional<PendingEntry> entry = store.read(key.tenantId(), key.userId());
        if (entry.isEmpty()) {
            store.forgetIfAbsent(key.tenantId(), key.userId());
            exchange.setProperty(OUTCOME_PROPERTY, ReplayOutcome.of(key, Result.GONE));
            return;
        }
        PendingEntry e = entry.get();
        if (!e.pending() || e.nextAttempt().isAfter(Instant.now())) {
            exchange.setProperty(OUTCOME_PROPERTY, ReplayOutcome.of(key, Result.GONE));
            return;
        }
        exchange.setProperty(REPLAYED_PROPERTY, e);
        exchange.setProperty(SaveContext.PROPERTY, new SaveContext(replaySave(e), true));
    }

    public boolean replaying(Exchange exchange) {
        return exchange.getProperty(REPLAYED_PROPERTY) != null;
    }

    public boolean profilePending(Exchange exchange) {
        return entryOf(exchange).pendingTargets().contains(Target.USER_PROFILES.table());
    }

    /** As in a save: writing user_settings is pointless once the user turned out to belong to another tenant. */
    public boolean settingsPending(Exchange exchange) {
        return entryOf(exchange).pendingTargets().contains(Target.USER_SETTINGS.table())
                && !context(exchange).tenantConflict();
    }

    /** The entry as a save: each field at the version (and saveId) it was stored with. */
    static PreparedSave replaySave(PendingEntry entry) {
        Map<Field, String> values = new EnumMap<>(Field.class);
        Map<Field, Long> versions = new EnumMap<>(Field.class);
        long newest = 0;
        String newestSaveId = null;
        for (Map.Entry<String, PendingEntry.FieldEntry> f : entry.fields().entrySet()) {
            Optional<Field> field = Field.byJson(f.getKey());
            if (field.isEmpty()) {
                LOG.warn("Local entry {}/{} holds an unknown field {}; it is not replayed", entry.tenantId(),
                        entry.userId(), f.getKey());
                continue;
            }
            values.put(field.get(), f.getValue().value());
            versions.put(field.get(), f.getValue().version());
            if (f.getValue().version() >= newest) {
                newest = f.getValue().version();
                newestSaveId = f.getValue().saveId();
            }
        }
        UUID saveId;
        try {
            saveId = newestSaveId == null ? UUID.randomUUID() : UUID.fromString(newestSaveId);
        } catch (IllegalArgumentException e) {
            saveId = UUID.randomUUID();
        }
        return new PreparedSave(entry.tenantId(), UUID.fromString(entry.userId()), saveId, newest,
                Changes.of(values), versions);
    }

    /**
     * Fault injection (agentconfig.sync.fault.halt-after-db-write, default false, for the crash
     * test only): the JVM stops dead, as under SIGKILL, after the replay wrote to the database and
     * before the entry is settled.
     */
    public void haltAfterDatabaseWrite(Exchange exchange) {
        SaveContext ctx = context(exchange);
        if (ctx.states().containsValue(TargetState.SAVED) || ctx.states().containsValue(TargetState.STALE)) {
            LOG.error("FAULT INJECTION (agentconfig.sync.fault.halt-after-db-write): halting the JVM after the "
                    + "database write of {}/{} and before its local entry is settled", ctx.save().tenantId(),
                    ctx.save().userId());
            System.out.flush();
            Runtime.getRuntime().halt(137);
        }
    }

    // ----- settle-replay (under the key's lock) -------------------------------------------------

    public void lockEntry(Exchange exchange) {
        EntryKey key = exchange.getProperty(KEY_PROPERTY, EntryKey.class);
        store.lock(key.tenantId(), key.userId());
    }

    public void unlockEntry(Exchange exchange) {
        EntryKey key = exchange.getProperty(KEY_PROPERTY, EntryKey.class);
        store.unlock(key.tenantId(), key.userId());
    }

    /** Re-reads the entry and decides; the body becomes the entry to write when there is one. */
    public void settle(Exchange exchange) {
        PendingEntry replayed = entryOf(exchange);
        SaveContext ctx = context(exchange);
        Map<Target, Failure> failures = new EnumMap<>(Target.class);
        for (Target t : Target.values()) {
            Failure f = ctx.failure(t);
            if (f != null) {
                failures.put(t, f);
            }
        }
        Settlement.Decision d = Settlement.decide(replayed, () -> store.read(replayed.tenantId(), replayed.userId()),
                ctx.states(), failures, Instant.now(), backoff);
        exchange.setProperty(DECISION_PROPERTY, d);
        exchange.setProperty(ACTION_PROPERTY, d.action().name().toLowerCase(java.util.Locale.ROOT));
        exchange.getMessage().setBody(d.entry());
    }

    /** Every pending target is done: the entry goes, unless a save slipped in (then it stays whole). */
    public void removeDrained(Exchange exchange) {
        PendingEntry replayed = entryOf(exchange);
        if (!store.removeIfUnchanged(replayed.tenantId(), replayed.userId(), replayed.revision())) {
            Settlement.Decision d = exchange.getProperty(DECISION_PROPERTY, Settlement.Decision.class);
            exchange.setProperty(DECISION_PROPERTY, new Settlement.Decision(Settlement.Action.NONE, null,
                    Result.CHANGED, d.failure()));
        }
    }

    /** After the lock is released: the outcome for the pass, the meters, the audit trail, the log. */
    public void finish(Exchange exchange) {
        EntryKey key = exchange.getProperty(KEY_PROPERTY, EntryKey.class);
        Settlement.Decision d = exchange.getProperty(DECISION_PROPERTY, Settlement.Decision.class);
        SaveContext ctx = context(exchange);
        Map<Target, TargetState> states = ctx.states();
        Result result = d.result();
        boolean unreachable = false;
        for (Target t : Target.values()) {
            Failure f = ctx.failure(t);
            TargetState s = states.get(t);
            if (s == null) {
                continue;
            }
            boolean breakerOpen = f != null && FailureClassifier.CODE_BREAKER_OPEN.equals(f.code());
            metrics.replayed(t, breakerOpen ? "deferred" : s.id());
            unreachable |= f != null && unreachable(f);
        }
        exchange.setProperty(OUTCOME_PROPERTY, new ReplayOutcome(key, result, states, d.failure(), unreachable));
        PendingEntry replayed = entryOf(exchange);
        if (result == Result.DRAINED || result == Result.QUARANTINED) {
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("result", result.id());
            Map<String, String> targets = new LinkedHashMap<>();
            states.forEach((t, s) -> targets.put(t.table(), s.id()));
            details.put("targets", targets);
            details.put("fields", replayed.fields().keySet());
            details.put("attempts", replayed.attempts() + (result == Result.QUARANTINED ? 1 : 0));
            if (d.failure() != null) {
                details.put("failureClass", d.failure().failureClass().id());
                details.put("code", d.failure().code());
            }
            audit.record(new AuditEvent(Instant.now(), "sync", replayed.tenantId(),
                    UUID.fromString(replayed.userId()), result == Result.DRAINED, details));
        }
        if (result == Result.QUARANTINED) {
            LOG.warn("Sync: local entry {} quarantined: {} {} ({}); fix the data or the database, then POST "
                    + "/api/v1/agent-config/{}/{}/retry", key, d.failure().failureClass().id(), d.failure().code(),
                    d.failure().message(), key.tenantId(), key.userId());
        } else if (LOG.isDebugEnabled()) {
            LOG.debug("Sync: local entry {} replayed: {} {}", key, result.id(), states);
        }
    }

    /** The database is out of reach: further replays in this pass would only fail the same way. */
    static boolean unreachable(Failure f) {
        return FailureClassifier.outOfReach(f);
    }

    private static PendingEntry entryOf(Exchange exchange) {
        return exchange.getProperty(REPLAYED_PROPERTY, PendingEntry.class);
    }

    private static SaveContext context(Exchange exchange) {
        return exchange.getProperty(SaveContext.PROPERTY, SaveContext.class);
    }
}
