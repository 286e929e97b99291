package dev.agentconfig.sync;

import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sync's "the database is out of reach" line, once per outage however many passes it stops. During a
 * return the database may answer the probe before it takes replays (the breakers close, a pass starts, its
 * first replay finds it gone, the next pass is asked for 500 ms later): each of those passes used to log the
 * line again, between "reachable again" lines. Now only the first pass that stops logs it (WARN); the next
 * ones log at DEBUG until a replay reaches the database again.
 */
final class OutOfReachLog {
    private static final Logger LOG = LoggerFactory.getLogger(SyncPlan.class);

    private final AtomicBoolean logged = new AtomicBoolean();

    /** A pass stopped: the replay that found the database out of reach. */
    void stopped(ReplayOutcome outcome) {
        String why = outcome.failure() == null ? "breaker open"
                : outcome.failure().code() + " " + outcome.failure().message();
        if (!logged.getAndSet(true)) {
            LOG.warn("Sync: the database is out of reach ({}); the rest of this pass waits for the next one", why);
        } else {
            LOG.debug("Sync: the database is still out of reach ({}); the pass stopped", why);
        }
    }

    /** A replay reached the database (it wrote, or the database itself answered): the next outage is logged. */
    void reached() {
        logged.set(false);
    }
}
