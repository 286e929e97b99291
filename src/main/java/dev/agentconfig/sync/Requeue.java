package dev.agentconfig.sync;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.SaveCommand;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.save.Saving;
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
    private final Saving saving;
    private final FieldCipher cipher;

    public Requeue(LocalStore store, AuditTrail audit) {
        this(store, audit, null, null);
    }

    /**
     * @param saving seals an operator's edit into a save of its own (saveId, version, the key sealed)
     * @param cipher masks the key in the quarantine's list
     */
    public Requeue(LocalStore store, AuditTrail audit, Saving saving, FieldCipher cipher) {
        this.store = store;
        this.audit = audit;
        this.saving = saving;
        this.cipher = cipher;
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

        /** The entry was edited: the fields of {@code edit} replace the entry's (still quarantined). */
        record Edited(PendingEntry entry, SealedSave edit) implements Answer {
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

    /**
     * An operator's edit of a quarantined entry: fields to replace (as a save's body would carry them, checked by
     * the same rules), who and why.
     */
    public record Edit(UserKey key, SaveCommand command, String by, String operator, String reason,
                       String requestId) {
    }

    /**
     * An operator replaces fields of a quarantined entry (e.g. an agent id the database refused): the edit is a
     * save of its own (a new saveId, a version above every other; the key sealed), merged into the entry under its
     * lock, audited as a "save" row of origin {@code operator} (so receipts name it as the value that won) and a
     * "sync-edit" row with who and why. The entry stays quarantined until resubmitted.
     */
    public Answer edit(Edit request) {
        UserKey key = request.key();
        SealedSave edit = saving.seal(request.command());
        Instant at = Instant.now();
        Answer answer = store.update(key, current -> {
            if (current.isEmpty()) {
                return new StoreChange.Keep<>(new Answer.NoEntry(key));
            }
            PendingEntry entry = current.get();
            if (!entry.quarantined()) {
                return new StoreChange.Keep<>(new Answer.NotQuarantined(entry));
            }
            PendingEntry edited = entry.edited(edit, at);
            return new StoreChange.Write<>(edited, new Answer.Edited(edited, edit));
        });
        if (answer instanceof Answer.Edited) {
            List<String> fields = edit.fields().keySet().stream().map(Field::json).toList();
            Map<String, Object> save = new LinkedHashMap<>();
            save.put("saveId", edit.saveId().toString());
            save.put("version", edit.version());
            save.put("origin", OPERATOR);
            save.put("fields", fields);
            save.put("status", PendingEntry.QUARANTINED);
            audit.record(new AuditEvent(at, "save", key.tenantId(), key.userId(), true, save));
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("by", request.by());
            if (request.operator() != null) {
                details.put("operator", request.operator());
            }
            details.put("reason", request.reason());
            details.put("requestId", request.requestId());
            details.put("saveId", edit.saveId().toString());
            details.put("fields", fields);
            audit.record(new AuditEvent(at, "sync-edit", key.tenantId(), key.userId(), true, details));
            LOG.warn("Local entry {} edited by {}{} ({}): {} replaced by save {}", key, request.by(),
                    request.operator() == null ? "" : " (operator " + request.operator() + ")", request.reason(),
                    fields, edit.saveId());
        }
        return answer;
    }

    /** The origin of an operator's edit, in its audit row and receipts. */
    public static final String OPERATOR = "operator";

    /**
     * Every quarantined entry, oldest first, with its failure history (each attempt: when, class, code, message,
     * target) and its fields (versions, saveIds; agent ids as they are, the key masked, never whole).
     */
    public Map<String, Object> quarantine() {
        List<Map<String, Object>> entries = new ArrayList<>();
        store.list().stream().filter(PendingEntry::quarantined)
                .sorted(Comparator.comparing(PendingEntry::created))
                .forEach(e -> entries.add(view(e)));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("count", entries.size());
        body.put("entries", entries);
        return body;
    }

    private Map<String, Object> view(PendingEntry e) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("tenantId", e.tenantId());
        v.put("userId", e.userId());
        v.put("state", e.state());
        v.put("since", e.createdAt());
        v.put("updatedAt", e.updatedAt());
        v.put("pendingTargets", e.pendingTargets());
        v.put("attempts", e.attempts());
        v.put("lastError", e.lastError());
        v.put("failures", e.failures());
        Map<String, Object> fields = new LinkedHashMap<>();
        e.fields().forEach((name, f) -> {
            Map<String, Object> field = new LinkedHashMap<>();
            field.put("value", shown(e, name, f.value()));
            field.put("version", f.version());
            field.put("saveId", f.saveId());
            fields.put(name, field);
        });
        v.put("fields", fields);
        return v;
    }

    /** An agent id as it is; the key masked (null when it cannot be opened: never the envelope). */
    private String shown(PendingEntry e, String name, String value) {
        if (value == null || !Field.RETELL_API_KEY.json().equals(name)) {
            return value;
        }
        try {
            return FieldCipher.mask(cipher.open(value, Field.RETELL_API_KEY.associatedData(e.tenantId(),
                    UUID.fromString(e.userId()))));
        } catch (RuntimeException unreadable) {
            return null;
        }
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
