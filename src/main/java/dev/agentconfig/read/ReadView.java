package dev.agentconfig.read;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import dev.agentconfig.core.Field;
import dev.agentconfig.core.PendingEntry;

/**
 * The answer of a read, in the contract's shape: the merged values (the key masked, or null when
 * it does not decrypt), where each field came from, the sync state of the user's local entry, and
 * how each location answered.
 */
public final class ReadView {
    public static final String UNDECRYPTABLE = "undecryptable";

    private ReadView() {
    }

    public static Map<String, Object> of(ReadResult result, KeyReader keys) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("tenantId", result.tenantId());
        body.put("userId", result.userId().toString());
        body.put(Field.RETELL_API_KEY.json(), result.winner(Field.RETELL_API_KEY)
                .map(v -> keys.masked(result.tenantId(), result.userId(), v)).orElse(null));
        body.put(Field.CALL_AGENT_ID.json(), result.winner(Field.CALL_AGENT_ID).map(FieldValue::value).orElse(null));
        body.put(Field.SMS_AGENT_ID.json(), result.winner(Field.SMS_AGENT_ID).map(FieldValue::value).orElse(null));
        Map<String, Object> fields = new LinkedHashMap<>();
        for (Field f : Field.values()) {
            result.winner(f).ifPresent(v -> fields.put(f.json(), provenance(v)));
        }
        body.put("fields", fields);
        body.put("sync", sync(result.reading(Source.LOCAL_STORE)));
        body.put("sources", sources(result));
        return body;
    }

    /** Where a value came from: location, version (null when the row carried none), when written. */
    static Map<String, Object> provenance(FieldValue v) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("source", v.source().id());
        p.put("version", v.versioned() ? v.version() : null);
        p.put("updatedAt", iso(v.updatedAt()));
        if (!v.readable()) {
            p.put("error", UNDECRYPTABLE);
        }
        return p;
    }

    /** The local entry's state: synced (no entry), pending or quarantined; unknown if the store failed. */
    static Map<String, Object> sync(LocationReading local) {
        Map<String, Object> s = new LinkedHashMap<>();
        Optional<PendingEntry> entry = local.pendingEntry();
        if (entry.isPresent()) {
            PendingEntry e = entry.get();
            s.put("state", e.quarantined() ? PendingEntry.QUARANTINED : PendingEntry.PENDING);
            s.put("pendingTargets", e.pendingTargets());
            s.put("attempts", e.attempts());
            s.put("nextAttemptAt", e.nextAttemptAt());
            s.put("lastError", lastError(e.lastError()));
        } else {
            s.put("state", local.status().answered() ? "synced" : "unknown");
            s.put("pendingTargets", java.util.List.of());
            s.put("attempts", 0);
            s.put("nextAttemptAt", null);
            s.put("lastError", null);
        }
        return s;
    }

    static Map<String, Object> lastError(PendingEntry.ErrorInfo e) {
        if (e == null) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("class", e.failureClass());
        m.put("code", e.code());
        m.put("message", e.message());
        m.put("target", e.target());
        m.put("at", e.at());
        return m;
    }

    /** How each location answered: ok, empty, error (with its failure class and code) or timeout. */
    public static Map<String, Object> sources(ReadResult result) {
        Map<String, Object> sources = new LinkedHashMap<>();
        for (LocationReading r : result.readings()) {
            sources.put(r.source().id(), status(r, false));
        }
        return sources;
    }

    static Map<String, Object> status(LocationReading r, boolean withMessage) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", r.status().id());
        if (r.failure() != null) {
            m.put("errorClass", r.failure().failureClass().id());
            m.put("code", r.failure().code());
            if (withMessage) {
                m.put("message", r.failure().message());
            }
        }
        return m;
    }

    static String iso(Instant instant) {
        return instant == null ? null : instant.toString();
    }
}
