package dev.agentconfig.save;

import java.util.Map;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.observe.Tracing;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.store.LocalStoreUnavailable;

/**
 * Route park-in-local-store: every target of a save that the database could not take goes into the
 * user's local-store entry at once (one durable write per save, whatever number of targets failed).
 */
public final class Parking {
    private final LocalStore store;
    private final OutageLog log;

    public Parking(LocalStore store, OutageLog log) {
        this.store = store;
        this.log = log;
    }

    /**
     * @return the result, with the parked targets quarantined when the entry is (an entry already
     *         quarantined keeps what joins it until an operator retries it)
     * @throws LocalStoreUnavailable when the entry cannot be made durable: nothing is acknowledged
     */
    public WriteResult park(WriteResult result) {
        Map<Target, Failure> failed = result.toPark();
        // the request's trace (its traceparent) stays with the entry: the sync's replay links back to it
        PendingEntry entry = store.park(result.save(), failed, Tracing.traceparent());
        log.parked(result, failed);
        if (!entry.quarantined()) {
            return result;
        }
        WriteResult out = result;
        for (Map.Entry<Target, Failure> f : failed.entrySet()) {
            out = out.with(new TargetOutcome.Quarantined(f.getKey(), f.getValue()));
        }
        return out;
    }
}
