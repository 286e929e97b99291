package dev.agentconfig.sync;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.failure.FailureClassifier;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.store.PendingEntry;
import dev.agentconfig.sync.ReplayOutcome.Result;

/**
 * What becomes of a local entry once it was replayed: the one place that decides. Called with
 * the key's lock held and the entry re-read, so a save merged in meanwhile is seen here.
 *
 * <p>The entry is only ever removed when its revision is still the one that was replayed: a save
 * that arrived during the replay bumped the revision and stays pending, whole, for the next pass
 * (replaying what the database already holds again is a no-op thanks to the per-field guard).
 */
public final class Settlement {

    public enum Action { NONE, WRITE, REMOVE }

    /** The decision: what to do with the file, the entry to write (for WRITE), and the result. */
    public record Decision(Action action, PendingEntry entry, Result result, Failure failure) {
    }

    private Settlement() {
    }

    /**
     * @param current the entry as it is now, read under the key's lock; only read when the entry
     *                is not drained (removal checks the revision itself: LocalStore.removeIfUnchanged)
     */
    public static Decision decide(PendingEntry replayed, Supplier<Optional<PendingEntry>> current,
                                  Map<Target, TargetState> states, Map<Target, Failure> failures,
                                  Instant now, Backoff backoff) {
        List<String> remaining = new ArrayList<>();
        for (String table : replayed.pendingTargets()) {
            TargetState s = states.get(Target.byTable(table));
            if (s != TargetState.SAVED && s != TargetState.STALE) {
                remaining.add(table);
            }
        }
        if (remaining.isEmpty()) {
            return new Decision(Action.REMOVE, null, Result.DRAINED, null);
        }
        Optional<PendingEntry> currentEntry = current.get();
        if (currentEntry.isEmpty()) {
            return new Decision(Action.NONE, null, Result.GONE, null);
        }
        PendingEntry entry = currentEntry.get();
        if (entry.revision() != replayed.revision()) {
            return new Decision(Action.NONE, null, Result.CHANGED, null);
        }
        Target blockingTarget = null;
        Target retryTarget = null;
        boolean charged = false;
        for (String table : remaining) {
            Target t = Target.byTable(table);
            Failure f = failures.get(t);
            if (f == null) {
                continue; // not attempted (e.g. settings after a tenant conflict on profiles)
            }
            if (f.failureClass() == FailureClass.REJECTED || f.failureClass() == FailureClass.TENANT_CONFLICT) {
                if (blockingTarget == null) {
                    blockingTarget = t;
                }
            } else if (retryTarget == null) {
                retryTarget = t;
            }
            // an open breaker never asked the database: that is not an attempt of this entry
            charged |= !FailureClassifier.CODE_BREAKER_OPEN.equals(f.code());
        }
        boolean progress = remaining.size() < replayed.pendingTargets().size();
        if (blockingTarget != null) {
            Failure f = failures.get(blockingTarget);
            PendingEntry quarantined = entry.settled(remaining, PendingEntry.QUARANTINED,
                    error(f, blockingTarget, now), entry.attempts() + 1, null, now);
            return new Decision(Action.WRITE, quarantined, Result.QUARANTINED, f);
        }
        if (retryTarget == null || (!charged && !progress)) {
            return new Decision(Action.NONE, null, Result.DEFERRED, retryTarget == null ? null : failures.get(retryTarget));
        }
        Failure f = failures.get(retryTarget);
        int attempts = charged ? entry.attempts() + 1 : entry.attempts();
        Instant next = charged ? now.plus(backoff.delay(attempts)) : entry.nextAttempt();
        PendingEntry retrying = entry.settled(remaining, PendingEntry.PENDING, error(f, retryTarget, now), attempts,
                next, now);
        return new Decision(Action.WRITE, retrying, progress ? Result.PARTIAL : Result.RETRYING, f);
    }

    static PendingEntry.ErrorInfo error(Failure f, Target target, Instant now) {
        return new PendingEntry.ErrorInfo(f.failureClass().id(), f.code(), f.message(), target.table(), now.toString());
    }
}
