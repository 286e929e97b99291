package dev.agentconfig.sync;

import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.store.StoreChange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's actions on a quarantined entry, under its lock. POST
 * /api/v1/agent-config/{tenantId}/{userId}/retry (route http-retry): put back in line, pending and due now;
 * its last error and attempts stay, so the read and the diagnostics still say what happened before. POST
 * …/abandon (route http-abandon): given up, moved aside under {@code <data-dir>/local-store-abandoned/}
 * (never replayed, read or counted again; kept, not deleted), audited with who and why.
 */
public final class Requeue {
    private static final Logger LOG = LoggerFactory.getLogger(Requeue.class);
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

        /** The entry was set aside, at {@code keptAt}. */
        record Abandoned(PendingEntry entry, Instant at, Path keptAt) implements Answer {
            /** Where it is kept, under the data directory: local-store-abandoned/<tenant>/<user>.<millis>.json. */
            public String keptAs() {
                return keptAt.getParent().getParent().getFileName() + "/" + keptAt.getParent().getFileName() + "/"
                        + keptAt.getFileName();
            }
        }
    }

    /**
     * An operator's request to give a quarantined entry up.
     *
     * @param by       the credential that asked ("service-token")
     * @param operator who says they are asking (free text from the request, checked), or null
     * @param reason   why (required, checked)
     * @param requestId the request's id, to find it in the log
     */
    public record Abandonment(UserKey key, String by, String operator, String reason, String requestId) {
    }

    /** Only a quarantined entry is abandoned: a pending one is the sync's to deliver. */
    public Answer abandon(Abandonment request) {
        UserKey key = request.key();
        Instant at = Instant.now();
        Answer answer = store.update(key, current -> {
            if (current.isEmpty()) {
                return new StoreChange.Keep<>(new Answer.NoEntry(key));
            }
            PendingEntry entry = current.get();
            if (!entry.quarantined()) {
                return new StoreChange.Keep<>(new Answer.NotQuarantined(entry));
            }
            return new StoreChange.Abandon<>(at, new Answer.Abandoned(entry, at, store.abandonedFile(key, at)));
        });
        if (answer instanceof Answer.Abandoned a) {
            PendingEntry entry = a.entry();
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("by", request.by());
            if (request.operator() != null) {
                details.put("operator", request.operator());
            }
            details.put("reason", request.reason());
            details.put("requestId", request.requestId());
            details.put("pendingTargets", entry.pendingTargets());
            details.put("fields", List.copyOf(entry.fields().keySet()));
            // the saves given up: their receipts say abandoned (receipt/Receipts)
            details.put("saveIds", entry.fields().values().stream().map(PendingEntry.FieldEntry::saveId).distinct()
                    .sorted().toList());
            if (entry.lastError() != null) {
                details.put("previousCode", entry.lastError().code());
                details.put("previousFailureClass", entry.lastError().failureClass());
            }
            details.put("keptAs", a.keptAs());
            audit.record(new AuditEvent(at, "sync-abandon", key.tenantId(), key.userId(), true, details));
            LOG.warn("Local entry {} abandoned by {}{} ({}); kept at {}", key, request.by(),
                    request.operator() == null ? "" : " (operator " + request.operator() + ")", request.reason(),
                    a.keptAt());
        }
        return answer;
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
