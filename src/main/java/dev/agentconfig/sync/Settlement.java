package dev.agentconfig.sync;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.store.StoreChange;
import dev.agentconfig.sync.ReplayOutcome.Result;

/**
 * What becomes of a local entry once it was replayed: the one place that decides. Called under the
 * entry's lock with the entry as it is now, so a save merged in meanwhile is seen here.
 *
 * <p>The entry is only ever removed when its revision is still the one that was replayed: a save that
 * arrived during the replay bumped the revision and stays pending, whole, for the next pass (replaying
 * what the database already holds again is a no-op thanks to the per-field guard).
 */
public final class Settlement {

    private Settlement() {
    }

    /**
     * @param replayed the entry as it was replayed: its pending targets and its revision
     * @param outcomes what each replayed target made of it (a target not attempted has none)
     * @param current  the entry as it is now, read under its lock
     */
    public static StoreChange<Result> decide(SealedSave replayed, Map<Target, TargetOutcome> outcomes,
                                             Optional<PendingEntry> current, Instant now, Backoff backoff) {
        List<Target> remaining = new ArrayList<>();
        for (Target t : replayed.targets()) {
            TargetOutcome o = outcomes.get(t);
            TargetState s = o == null ? null : o.state();
            if (s != TargetState.SAVED && s != TargetState.STALE) {
                remaining.add(t);
            }
        }
        if (remaining.isEmpty()) {
            return new StoreChange.Remove<>(replayed.entryRevision(), Result.DRAINED, Result.CHANGED);
        }
        if (current.isEmpty()) {
            return new StoreChange.Keep<>(Result.GONE);
        }
        PendingEntry entry = current.get();
        if (entry.revision() != replayed.entryRevision()) {
            return new StoreChange.Keep<>(Result.CHANGED);
        }
        Target blockingTarget = null;
        Target retryTarget = null;
        boolean charged = false;
        for (Target t : remaining) {
            Failure f = outcomes.get(t) == null ? null : outcomes.get(t).failure();
            if (f == null) {
                continue; // not attempted
            }
            if (f.failureClass() == FailureClass.REJECTED || f.failureClass() == FailureClass.TENANT_CONFLICT) {
                if (blockingTarget == null) {
                    blockingTarget = t;
                }
            } else if (retryTarget == null) {
                retryTarget = t;
            }
            // an open breaker never asked the database, nor did a pool that had no connection free in time:
            // that is not an attempt of this entry (a drain must not push its backlog into backoff)
            charged |= !f.breakerOpen() && !f.poolTimeout();
        }
        List<String> tables = remaining.stream().map(Target::table).toList();
        boolean progress = remaining.size() < replayed.targets().size();
        if (blockingTarget != null) {
            Failure f = outcomes.get(blockingTarget).failure();
            PendingEntry quarantined = entry.settled(tables, PendingEntry.QUARANTINED,
                    PendingEntry.ErrorInfo.of(f, blockingTarget, now), entry.attempts() + 1, null, now);
            return new StoreChange.Write<>(quarantined, Result.QUARANTINED);
        }
        if (retryTarget == null || (!charged && !progress)) {
            return new StoreChange.Keep<>(Result.DEFERRED);
        }
        Failure f = outcomes.get(retryTarget).failure();
        int attempts = charged ? entry.attempts() + 1 : entry.attempts();
        Instant next = charged ? now.plus(backoff.delay(attempts)) : entry.nextAttempt();
        PendingEntry retrying = entry.settled(tables, PendingEntry.PENDING, PendingEntry.ErrorInfo.of(f, retryTarget, now),
                attempts, next, now);
        return new StoreChange.Write<>(retrying, progress ? Result.PARTIAL : Result.RETRYING);
    }
}
