package dev.agentconfig.read;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
        return of(result, keys, Instant.now());
    }

    /**
     * The answer as of {@code now}. Complete when every location answered: a field none holds is then
     * {@code null} (never set, or cleared). Otherwise a field no location that answered knows is left out of
     * the answer and listed in {@code unknown} (never {@code null}: that would say "cleared"); one only this
     * server's last-known copy knows is answered from it, its {@code fields} entry saying {@code last_known}
     * and since when ({@code asOf}); the answer's {@code asOf} is that of its oldest value.
     */
    public static Map<String, Object> of(ReadResult result, KeyReader keys, Instant now) {
        boolean complete = result.allAnswered() && result.reading(Source.LAST_KNOWN).status() != LocationStatus.OK;
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("tenantId", result.tenantId());
        body.put("userId", result.userId().toString());
        List<String> unknown = new ArrayList<>();
        Instant asOf = now;
        for (Field f : Field.values()) {
            Optional<FieldValue> winner = result.winner(f);
            if (winner.isPresent()) {
                FieldValue v = winner.get();
                body.put(f.json(), f.secret() ? keys.masked(result.tenantId(), result.userId(), v) : v.value());
                Instant at = asOf(result, v, now);
                asOf = at.isBefore(asOf) ? at : asOf;
            } else if (complete) {
                body.put(f.json(), null);
            } else {
                unknown.add(f.json());
            }
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        for (Field f : Field.values()) {
            result.winner(f).ifPresent(v -> fields.put(f.json(), provenance(v, asOf(result, v, now))));
        }
        body.put("fields", fields);
        body.put("sync", sync(syncReading(result)));
        body.put("sources", sources(result));
        body.put("complete", complete);
        body.put("asOf", iso(asOf));
        if (!complete) {
            body.put("unknown", unknown);
        }
        return body;
    }

    /** The answer holds a value only this server's last-known copy knew (an HTTP answer says it is stale). */
    public static boolean stale(ReadResult result) {
        return result.winners().values().stream().anyMatch(v -> v.source() == Source.LAST_KNOWN);
    }

    /** Since when a value is known: now for what a location answered now, the copy's age for the last-known copy. */
    static Instant asOf(ReadResult result, FieldValue v, Instant now) {
        if (v.source() == Source.LAST_KNOWN) {
            Instant at = result.reading(Source.LAST_KNOWN).rowUpdatedAt();
            return at == null ? now : at;
        }
        return now;
    }

    /** Where a value came from: location, version (null when the row carried none), when written. */
    static Map<String, Object> provenance(FieldValue v) {
        return provenance(v, null);
    }

    /** ... with {@code asOf} for a value from the last-known copy: when the tables last held it. */
    static Map<String, Object> provenance(FieldValue v, Instant asOf) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("source", v.source().id());
        p.put("version", v.versioned() ? v.version() : null);
        p.put("updatedAt", iso(v.updatedAt()));
        if (v.source() == Source.LAST_KNOWN && asOf != null) {
            p.put("asOf", iso(asOf));
        }
        if (!v.readable()) {
            p.put("error", UNDECRYPTABLE);
        }
        return p;
    }

    /**
     * Whose pending entry the answer's {@code sync} shows: this instance's local store's; with Kafka parking,
     * when the local store holds none, what waits on the parked topic (parked by any instance), and unknown when
     * the topic's view could not answer in time.
     */
    static LocationReading syncReading(ReadResult result) {
        LocationReading local = result.reading(Source.LOCAL_STORE);
        Optional<LocationReading> parked = result.readings().stream()
                .filter(r -> r.source() == Source.PARKED_TOPIC).findFirst();
        if (local.pendingEntry().isPresent() || parked.isEmpty() || !local.status().answered()) {
            return local;
        }
        return parked.get();
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
            s.put("pendingTargets", List.of());
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
            Map<String, Object> m = status(r, false);
            if (r.source() == Source.LAST_KNOWN && r.rowUpdatedAt() != null) {
                m.put("asOf", iso(r.rowUpdatedAt()));
            }
            sources.put(r.source().id(), m);
        }
        return sources;
    }

    static Map<String, Object> status(LocationReading r, boolean withMessage) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", r.status().id());
        if (r.failure() != null) {
            m.put("errorClass", r.failure().failureClass().id());
            m.put("code", r.failure().code());
            m.put("cause", r.failure().cause().id());
            if (withMessage) {
                m.put("reason", r.failure().cause().label());
                m.put("message", r.failure().message());
            }
        }
        return m;
    }

    static String iso(Instant instant) {
        return instant == null ? null : instant.toString();
    }
}
