package dev.agentconfig.sync;

import java.util.Locale;
import java.util.Map;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.core.UserKey;

/**
 * What one replay of one local entry came to.
 *
 * @param states      what each replayed target made of it (saved, stale, queued, quarantined, skipped)
 * @param failure     the failure that keeps the entry in the store, if any
 * @param unreachable the database could not be reached (or its breaker is open): the pass stops
 */
public record ReplayOutcome(UserKey key, Result result, Map<Target, TargetState> states, Failure failure,
                            boolean unreachable) {

    public enum Result {
        /** Every pending target saved (or already newer): the entry was removed. */
        DRAINED,
        /** Some targets done, the others failed transiently: the entry keeps only those, with backoff. */
        PARTIAL,
        /** Nothing done, transient or schema drift: attempts + 1, next attempt after backoff. */
        RETRYING,
        /** Refused by the database (or a tenant conflict): quarantined until an operator retries it. */
        QUARANTINED,
        /** A save was merged into the entry while it was replayed: it stays pending as it now is. */
        CHANGED,
        /** Not attempted (the database was unreachable or the breaker open): left as it was, still due. */
        DEFERRED,
        /** The entry was no longer there, or no longer pending and due, when its turn came. */
        GONE,
        /** The replay failed unexpectedly (see the log); the entry is left as it was. */
        FAILED;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static ReplayOutcome of(UserKey key, Result result) {
        return new ReplayOutcome(key, result, Map.of(), null, false);
    }
}
