package dev.agentconfig.sync;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import dev.agentconfig.api.PathIdentity;
import dev.agentconfig.api.Problem;
import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.save.Identifiers;
import dev.agentconfig.store.EntryKey;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.store.PendingEntry;
import org.apache.camel.Exchange;

/**
 * The steps of route requeue-entry (POST /api/v1/agent-config/{tenantId}/{userId}/retry): a
 * quarantined entry is put back in line, pending and due now, under the key's lock. Its last
 * error and attempts stay, so the read and the diagnostics still say what happened before.
 */
public final class RequeueSteps {
    private static final String KEY_PROPERTY = "agentconfig.requeue.key";
    private final LocalStore store;
    private final AuditTrail audit;

    public RequeueSteps(LocalStore store, AuditTrail audit) {
        this.store = store;
        this.audit = audit;
    }

    /** The entry is the path's (PathIdentity, checked by the front door), validated and canonical. */
    public void lock(Exchange exchange) {
        PathIdentity path = PathIdentity.of(exchange);
        String tenant = Identifiers.tenant(path.tenantId());
        String canonical = Identifiers.user(path.userId()).toString();
        EntryKey key = new EntryKey(tenant, canonical);
        exchange.setProperty(KEY_PROPERTY, key);
        store.lock(key.tenantId(), key.userId());
    }

    public void unlock(Exchange exchange) {
        EntryKey key = exchange.getProperty(KEY_PROPERTY, EntryKey.class);
        store.unlock(key.tenantId(), key.userId());
    }

    /** The body becomes the re-queued entry, for route write-local-entry. */
    public PendingEntry requeue(Exchange exchange) {
        EntryKey key = exchange.getProperty(KEY_PROPERTY, EntryKey.class);
        String tenant = key.tenantId();
        String user = key.userId();
        PendingEntry entry = store.read(tenant, user).orElseThrow(() -> Problem.notFound(
                "the local store holds no entry for " + tenant + "/" + user + "; nothing to retry"));
        if (!entry.quarantined()) {
            throw new Problem(409, "not-quarantined", "The entry is not quarantined",
                    "the local entry for " + tenant + "/" + user + " is " + entry.state()
                            + "; it is retried by the sync on its own (next attempt " + entry.nextAttemptAt() + ")",
                    Map.of("state", entry.state()));
        }
        return entry.requeued(Instant.now());
    }

    /** 202 with the entry's sync state as the read shows it. */
    public Map<String, Object> answer(Exchange exchange) {
        PendingEntry entry = exchange.getMessage().getBody(PendingEntry.class);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", "requeued");
        body.put("tenantId", entry.tenantId());
        body.put("userId", entry.userId());
        body.put("state", entry.state());
        body.put("pendingTargets", entry.pendingTargets());
        body.put("attempts", entry.attempts());
        body.put("nextAttemptAt", entry.nextAttemptAt());
        body.put("lastError", entry.lastError());
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("pendingTargets", entry.pendingTargets());
        if (entry.lastError() != null) {
            details.put("previousCode", entry.lastError().code());
            details.put("previousFailureClass", entry.lastError().failureClass());
        }
        audit.record(new AuditEvent(Instant.now(), "sync-retry", entry.tenantId(), UUID.fromString(entry.userId()),
                true, details));
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 202);
        return body;
    }
}
