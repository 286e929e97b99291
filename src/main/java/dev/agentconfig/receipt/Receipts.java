package dev.agentconfig.receipt;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.core.LastWriterWins;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.store.LocalStore;

/**
 * A save's receipt, derived when asked from what already exists: the save's audit rows, the local entry
 * and the per-field versions the tables hold (nothing is written for it on the save path). Per field of
 * the save, a verdict:
 * <ul>
 *   <li>{@code pending}: the user's local entry holds the field from this save (where, since, targets);</li>
 *   <li>{@code refused}: the save was refused at the door (its refusal row), or the database refused it and
 *       its entry is quarantined (the entry's last error);</li>
 *   <li>{@code abandoned}: its quarantined entry was given up (POST …/abandon: who, why, when);</li>
 *   <li>{@code applied}: a table holds the field at the save's version;</li>
 *   <li>{@code superseded}: a table, or the local entry, holds a newer version: the save that wrote it
 *       (saveId, version, editedAt, origin; never the value);</li>
 *   <li>{@code unknown}: none of these (the tables cannot be read, or hold an older version: the save's
 *       value was never stored).</li>
 * </ul>
 * The receipt's status is the first of refused, pending, abandoned, unknown, superseded, applied that a
 * field has.
 */
public final class Receipts {
    public static final String APPLIED = "applied";
    public static final String PENDING = "pending";
    public static final String SUPERSEDED = "superseded";
    public static final String REFUSED = "refused";
    public static final String ABANDONED = "abandoned";
    public static final String UNKNOWN = "unknown";
    private static final List<String> PRECEDENCE = List.of(REFUSED, PENDING, ABANDONED, UNKNOWN, SUPERSEDED, APPLIED);

    private final SaveRecords records;
    private final LocalStore store;
    private final ReceiptSettings settings;
    private final Clock wall;

    /** @param records null when the transport gives none (rest): {@link #receipt} is then unsupported */
    public Receipts(SaveRecords records, LocalStore store, ReceiptSettings settings, Clock wall) {
        this.records = records;
        this.store = store;
        this.settings = settings;
        this.wall = wall;
    }

    /** What is asked: the user's save. */
    public record Request(UserKey user, UUID saveId) {
    }

    /** Whether receipts can be given on this transport (the jdbc transport's records are bound). */
    public boolean available() {
        return records != null;
    }

    /** The receipt, or empty when no audit row of the save is known (any more) and no local entry holds it. */
    public Optional<Map<String, Object>> receipt(Request request) {
        if (records == null) {
            throw new UnsupportedOperationException("receipts need the jdbc transport");
        }
        UserKey user = request.user();
        String saveId = request.saveId().toString();
        Instant notBefore = settings.notBefore(wall.instant());
        List<AuditEvent> rows = records.rowsOf(user, request.saveId(), notBefore);
        Optional<AuditEvent> saveRow = rows.stream().filter(r -> "save".equals(r.event())).findFirst();
        Optional<PendingEntry> entry = store.read(user);
        Map<String, PendingEntry.FieldEntry> parked = new LinkedHashMap<>();
        entry.ifPresent(e -> e.fields().forEach((name, f) -> {
            if (saveId.equals(f.saveId())) {
                parked.put(name, f);
            }
        }));
        if (saveRow.isEmpty() && parked.isEmpty()) {
            return Optional.empty();
        }
        Map<String, Object> receipt = new LinkedHashMap<>();
        receipt.put("saveId", saveId);
        long version = saveRow.map(r -> number(r.details().get("version")))
                .orElseGet(() -> parked.values().stream().mapToLong(PendingEntry.FieldEntry::version).max().orElse(0));
        receipt.put("origin", saveRow.map(r -> (String) r.details().get("origin")).orElse(null));
        receipt.put("editedAt", version > 0 ? HybridLogicalClock.instant(version).toString() : null);
        receipt.put("version", version > 0 ? version : null);
        saveRow.ifPresent(r -> {
            receipt.put("at", r.at().toString());
            receipt.put("answered", r.details().get("status") instanceof String s ? s
                    : String.valueOf(r.details().get("status")));
        });
        Map<String, Object> fields = new LinkedHashMap<>();
        if (saveRow.isPresent() && !saveRow.get().success()) {
            Map<String, Object> refused = refusal(saveRow.get());
            for (String name : names(saveRow.get())) {
                fields.put(name, refused);
            }
            if (fields.isEmpty()) {
                fields.put("*", refused); // a refusal before the fields were known
            }
        } else {
            List<String> names = saveRow.map(Receipts::names).orElseGet(() -> new ArrayList<>(parked.keySet()));
            Map<Field, Long> stored = null;
            for (String name : names) {
                Optional<Field> field = Field.byJson(name);
                if (field.isEmpty()) {
                    continue;
                }
                PendingEntry.FieldEntry mine = parked.get(name);
                if (mine != null) {
                    fields.put(name, parkedVerdict(entry.get(), mine));
                    continue;
                }
                PendingEntry.FieldEntry other = entry.map(e -> e.fields().get(name)).orElse(null);
                if (other != null && LastWriterWins.replaces(other.version(), version)) {
                    // a newer save of the same field waits in the local entry: it wins when it drains
                    fields.put(name, superseded(user, field.get(), other.version(), other.saveId(), notBefore,
                            true));
                    continue;
                }
                Optional<AuditEvent> abandoned = rows.stream().filter(r -> "sync-abandon".equals(r.event()))
                        .findFirst();
                if (abandoned.isPresent()) {
                    fields.put(name, abandonedVerdict(abandoned.get()));
                    continue;
                }
                if (stored == null) {
                    stored = storedVersions(user);
                }
                Long holds = stored.get(field.get());
                if (holds != null && holds == version) {
                    Map<String, Object> v = new LinkedHashMap<>();
                    v.put("verdict", APPLIED);
                    rows.stream().filter(r -> "sync".equals(r.event()) && r.success()).findFirst().ifPresent(r -> {
                        v.put("via", "sync");
                        v.put("at", r.at().toString());
                    });
                    fields.put(name, v);
                } else if (holds != null && LastWriterWins.replaces(holds, version)) {
                    fields.put(name, superseded(user, field.get(), holds, null, notBefore, false));
                } else {
                    Map<String, Object> v = new LinkedHashMap<>();
                    v.put("verdict", UNKNOWN);
                    v.put("detail", stored.isEmpty() && holds == null ? "no table holds the field now"
                            : "the tables hold an older version of the field: this value was not stored");
                    fields.put(name, v);
                }
            }
        }
        receipt.put("status", status(fields));
        receipt.put("fields", fields);
        return Optional.of(receipt);
    }

    private Map<Field, Long> storedVersions(UserKey user) {
        try {
            return records.storedVersions(user);
        } catch (RuntimeException e) {
            return Map.of(); // the tables cannot be read now: the verdicts that need them say unknown
        }
    }

    private static String status(Map<String, Object> fields) {
        for (String verdict : PRECEDENCE) {
            if (fields.values().stream().anyMatch(v -> v instanceof Map<?, ?> m && verdict.equals(m.get("verdict")))) {
                return verdict;
            }
        }
        return UNKNOWN;
    }

    @SuppressWarnings("unchecked")
    private static List<String> names(AuditEvent row) {
        Object fields = row.details().get("fields");
        return fields instanceof List<?> l ? new ArrayList<>((List<String>) l) : new ArrayList<>();
    }

    private static Map<String, Object> parkedVerdict(PendingEntry entry, PendingEntry.FieldEntry field) {
        Map<String, Object> v = new LinkedHashMap<>();
        if (entry.quarantined()) {
            v.put("verdict", REFUSED);
            v.put("where", "quarantine");
            v.put("since", entry.updatedAt());
            Map<String, Object> reason = new LinkedHashMap<>();
            if (entry.lastError() != null) {
                reason.put("failureClass", entry.lastError().failureClass());
                reason.put("code", entry.lastError().code());
                reason.put("message", entry.lastError().message());
                reason.put("target", entry.lastError().target());
            }
            v.put("reason", reason);
            return v;
        }
        v.put("verdict", PENDING);
        v.put("where", "local-store");
        v.put("since", entry.createdAt());
        v.put("targets", entry.pendingTargets());
        v.put("attempts", entry.attempts());
        v.put("nextAttemptAt", entry.nextAttemptAt());
        return v;
    }

    private Map<String, Object> superseded(UserKey user, Field field, long version, String saveId, Instant notBefore,
                                           boolean pending) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("verdict", SUPERSEDED);
        Map<String, Object> by = new LinkedHashMap<>();
        Optional<AuditEvent> winner = records.saveOf(user, field, version, notBefore);
        by.put("saveId", saveId != null ? saveId : winner.map(w -> (String) w.details().get("saveId")).orElse(null));
        by.put("version", version);
        by.put("editedAt", HybridLogicalClock.instant(version).toString());
        by.put("origin", winner.map(w -> (String) w.details().get("origin")).orElse(null));
        if (pending) {
            by.put("pending", true);
        }
        v.put("by", by);
        return v;
    }

    private static Map<String, Object> refusal(AuditEvent row) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("verdict", REFUSED);
        Map<String, Object> reason = new LinkedHashMap<>();
        reason.put("status", row.details().get("status"));
        reason.put("problem", row.details().get("problem"));
        if (row.details().get("failureClass") != null) {
            reason.put("failureClass", row.details().get("failureClass"));
        }
        v.put("reason", reason);
        v.put("at", row.at().toString());
        return v;
    }

    private static Map<String, Object> abandonedVerdict(AuditEvent row) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("verdict", ABANDONED);
        v.put("at", row.at().toString());
        v.put("by", row.details().get("by"));
        if (row.details().get("operator") != null) {
            v.put("operator", row.details().get("operator"));
        }
        v.put("reason", row.details().get("reason"));
        v.put("keptAs", row.details().get("keptAs"));
        return v;
    }

    private static long number(Object o) {
        return o instanceof Number n ? n.longValue() : o == null ? 0 : Long.parseLong(o.toString());
    }
}
