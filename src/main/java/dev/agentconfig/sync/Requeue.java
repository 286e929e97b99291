package dev.agentconfig.sync;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.store.StoreChange;

/**
 * POST /api/v1/agent-config/{tenantId}/{userId}/retry (route requeue-entry): a quarantined entry is
 * put back in line, pending and due now, under its lock. Its last error and attempts stay, so the read
 * and the diagnostics still say what happened before.
 */
public final class Requeue {
    private final LocalStore store;
    private final AuditTrail audit;

    public Requeue(LocalStore store, AuditTrail audit) {
        this.store = store;
        this.audit = audit;
    }

    /** What a retry request came to. */
    public sealed interface Answer {
        /** The entry is pending again. */
        record Requeued(PendingEntry entry) implements Answer {
        }

        /** The local store holds no entry for the user. */
        record NoEntry(UserKey key) implements Answer {
        }

        /** The entry is not quarantined: the sync retries it on its own. */
        record NotQuarantined(PendingEntry entry) implements Answer {
        }
    }

    public Answer requeue(UserKey key) {
        Answer answer = store.update(key, current -> {
            if (current.isEmpty()) {
                return new StoreChange.Keep<>(new Answer.NoEntry(key));
            }
            PendingEntry entry = current.get();
            if (!entry.quarantined()) {
                return new StoreChange.Keep<>(new Answer.NotQuarantined(entry));
            }
            PendingEntry requeued = entry.requeued(Instant.now());
            return new StoreChange.Write<>(requeued, new Answer.Requeued(requeued));
        });
        if (answer instanceof Answer.Requeued r) {
            PendingEntry entry = r.entry();
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("pendingTargets", entry.pendingTargets());
            if (entry.lastError() != null) {
                details.put("previousCode", entry.lastError().code());
                details.put("previousFailureClass", entry.lastError().failureClass());
            }
            audit.record(new AuditEvent(Instant.now(), "sync-retry", key.tenantId(), key.userId(), true, details));
        }
        return answer;
    }
}
