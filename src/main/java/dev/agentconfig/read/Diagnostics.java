package dev.agentconfig.read;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.PendingEntry;

/**
 * The seed's diagnostic tool, done properly: what each location holds (the key masked), each
 * field's version, the merged view, and the seed's checklist as checks that pass or fail.
 * Unlike a read, it answers 200 for a user no location knows: "found nowhere" is a diagnosis.
 */
public final class Diagnostics {
    private final KeyReader keys;
    /** rest transport: what PostgREST said is missing (named objects); null with jdbc. */
    private final java.util.function.Supplier<List<String>> schemaDrift;

    public Diagnostics(KeyReader keys) {
        this(keys, null);
    }

    public Diagnostics(KeyReader keys, java.util.function.Supplier<List<String>> schemaDrift) {
        this.keys = keys;
        this.schemaDrift = schemaDrift;
    }

    /** A check of the checklist: a stable id, what it asks, whether it passes, and why. */
    public record Check(String id, String title, boolean pass, String detail) {
    }

    public Map<String, Object> report(ReadResult result) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("tenantId", result.tenantId());
        body.put("userId", result.userId().toString());
        body.put("found", result.found());
        Map<String, Object> locations = new LinkedHashMap<>();
        for (LocationReading r : result.readings()) {
            locations.put(r.source().id(), location(result, r));
        }
        body.put("locations", locations);
        if (result.found()) {
            Map<String, Object> merged = ReadView.of(result, keys);
            merged.remove("sources"); // already in "locations", with more detail
            body.put("merged", merged);
        } else {
            body.put("merged", null);
        }
        List<Check> checks = checks(result);
        body.put("checks", checks);
        body.put("failedChecks", checks.stream().filter(c -> !c.pass()).map(Check::id).toList());
        return body;
    }

    // ----- what each location holds ------------------------------------------------------------

    private Map<String, Object> location(ReadResult result, LocationReading r) {
        Map<String, Object> m = ReadView.status(r, true);
        if (r.rowUpdatedAt() != null) {
            m.put("updatedAt", ReadView.iso(r.rowUpdatedAt()));
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        for (Field f : Field.values()) {
            r.field(f).ifPresent(v -> fields.put(f.json(), fieldHeld(result, v)));
        }
        m.put("fields", fields);
        if (r.source() == Source.USER_SETTINGS && r.status() == LocationStatus.OK) {
            m.put("legacyPlaintextKey", r.legacyPlaintextKey());
        }
        r.pendingEntry().ifPresent(e -> {
            m.put("state", e.state());
            m.put("pendingTargets", e.pendingTargets());
            m.put("attempts", e.attempts());
            m.put("nextAttemptAt", e.nextAttemptAt());
            m.put("lastError", ReadView.lastError(e.lastError()));
        });
        return m;
    }

    private Map<String, Object> fieldHeld(ReadResult result, FieldValue v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("value", display(result, v));
        m.put("version", v.versioned() ? v.version() : null);
        m.put("updatedAt", ReadView.iso(v.updatedAt()));
        FieldValue winner = result.winners().get(v.field());
        m.put("winner", winner != null && winner.source() == v.source());
        if (v.legacyPlaintext()) {
            m.put("legacyPlaintext", true);
        }
        if (!v.readable()) {
            m.put("error", ReadView.UNDECRYPTABLE);
            m.put("reason", v.unreadableReason());
        }
        return m;
    }

    /** Agent ids as they are; the key masked (never its envelope, never its plaintext). */
    private String display(ReadResult result, FieldValue v) {
        return v.field().secret() ? keys.masked(result.tenantId(), result.userId(), v) : v.value();
    }

    // ----- the checklist -----------------------------------------------------------------------

    List<Check> checks(ReadResult result) {
        List<Check> checks = new ArrayList<>();
        checks.add(holdsCurrent(result, Source.USER_PROFILES));
        checks.add(holdsCurrent(result, Source.USER_SETTINGS));
        checks.add(nothingPendingLocally(result));
        checks.add(locationsAgree(result));
        checks.add(noPlaintextKey(result));
        checks.add(keyDecrypts(result));
        checks.add(everyLocationAnswered(result));
        if (schemaDrift != null) {
            checks.add(schemaKnownToPostgrest());
        }
        return checks;
    }

    /** rest transport: PostgREST knows every table, column and function the saves used. */
    private Check schemaKnownToPostgrest() {
        List<String> missing = schemaDrift.get();
        return missing.isEmpty()
                ? new Check("schema-known", "PostgREST knows every table, column and function", true,
                        "no request was told that something is missing")
                : new Check("schema-known", "PostgREST knows every table, column and function", false,
                        "missing: " + String.join("; ", missing)
                                + " (run the migrations, then NOTIFY pgrst, 'reload schema'; queued saves follow "
                                + "on the next sync pass)");
    }

    /** "Agent IDs in user_profiles?": the table holds the current value of every known field. */
    private Check holdsCurrent(ReadResult result, Source table) {
        String id = "in-" + table.id().replace('_', '-');
        String title = "Stored in " + table.id();
        LocationReading r = result.reading(table);
        if (!r.status().answered()) {
            return new Check(id, title, false, table.id() + " could not be read (" + failureText(r) + ")");
        }
        if (!result.found()) {
            return new Check(id, title, false, "no location holds anything for this user under this tenant");
        }
        if (r.status() == LocationStatus.EMPTY) {
            return new Check(id, title, false, table.id() + " has no row for this user under this tenant");
        }
        List<String> missing = new ArrayList<>();
        for (FieldValue winner : result.winners().values()) {
            Optional<FieldValue> held = r.field(winner.field());
            if (held.isEmpty()) {
                missing.add(winner.field().json() + " is missing");
            } else if (!sameValue(result, held.get(), winner)) {
                missing.add(winner.field().json() + " is outdated (" + versionText(held.get()) + "; current "
                        + versionText(winner) + " in " + winner.source().id() + ")");
            }
        }
        return missing.isEmpty()
                ? new Check(id, title, true, table.id() + " holds the current value of every field")
                : new Check(id, title, false, String.join("; ", missing));
    }

    /** "Agent IDs in localStorage only?": nothing waits in the local store. */
    private Check nothingPendingLocally(ReadResult result) {
        String id = "nothing-pending-locally";
        String title = "Nothing pending or quarantined in the local store";
        LocationReading local = result.reading(Source.LOCAL_STORE);
        if (!local.status().answered()) {
            return new Check(id, title, false, "the local store could not be read (" + failureText(local) + ")");
        }
        Optional<PendingEntry> entry = local.pendingEntry();
        if (entry.isEmpty()) {
            return new Check(id, title, true, "no local entry: every acknowledged save reached the database");
        }
        PendingEntry e = entry.get();
        StringBuilder d = new StringBuilder();
        d.append(e.quarantined()
                ? "quarantined (the database refused it; fix the cause, then POST …/retry)"
                : "pending, waiting for the sync");
        d.append(" for ").append(String.join(", ", e.pendingTargets()));
        d.append("; fields ").append(String.join(", ", e.fields().keySet()));
        if (e.lastError() != null) {
            d.append("; last error ").append(e.lastError().failureClass()).append(' ').append(e.lastError().code())
                    .append(": ").append(e.lastError().message());
        }
        d.append("; attempts ").append(e.attempts());
        if (!e.quarantined() && e.nextAttemptAt() != null) {
            d.append("; next attempt ").append(e.nextAttemptAt());
        }
        return new Check(id, title, false, d.toString());
    }

    /** "Do the locations disagree?": every location holding a field holds the same value. */
    private Check locationsAgree(ReadResult result) {
        String id = "locations-agree";
        String title = "All locations hold the same values";
        List<String> disagreements = new ArrayList<>();
        for (Field f : Field.values()) {
            List<FieldValue> held = new ArrayList<>();
            for (LocationReading r : result.readings()) {
                r.field(f).ifPresent(held::add);
            }
            boolean differ = held.stream().anyMatch(v -> !sameValue(result, v, held.get(0)));
            if (differ) {
                List<String> parts = new ArrayList<>();
                for (FieldValue v : held) {
                    String shown = v.readable() ? Objects.toString(display(result, v), "null") : ReadView.UNDECRYPTABLE;
                    parts.add(v.source().id() + " " + shown + " (" + versionText(v) + ")");
                }
                disagreements.add(f.json() + ": " + String.join(" / ", parts));
            }
        }
        return disagreements.isEmpty()
                ? new Check(id, title, true, "no field differs between locations")
                : new Check(id, title, false, String.join("; ", disagreements));
    }

    /** The seed wrote the plaintext key into user_settings.retell_config.api_key. */
    private Check noPlaintextKey(ReadResult result) {
        String id = "no-plaintext-key";
        String title = "No plaintext key in user_settings.retell_config";
        LocationReading settings = result.reading(Source.USER_SETTINGS);
        if (!settings.status().answered()) {
            return new Check(id, title, false, "user_settings could not be read (" + failureText(settings) + ")");
        }
        if (!settings.legacyPlaintextKey()) {
            return new Check(id, title, true, "retell_config holds agent ids only");
        }
        return new Check(id, title, false, "user_settings.retell_config.api_key holds a plaintext key (legacy row); "
                + "the next save for this user moves it into the encrypted columns and removes it");
    }

    private Check keyDecrypts(ReadResult result) {
        String id = "key-decrypts";
        String title = "The API key decrypts wherever it is stored";
        List<String> bad = new ArrayList<>();
        for (LocationReading r : result.readings()) {
            r.field(Field.RETELL_API_KEY).filter(v -> !v.readable())
                    .ifPresent(v -> bad.add(r.source().id() + ": " + v.unreadableReason()));
        }
        return bad.isEmpty()
                ? new Check(id, title, true, "every stored key opens with this service's key and this user's identity")
                : new Check(id, title, false, String.join("; ", bad));
    }

    private Check everyLocationAnswered(ReadResult result) {
        String id = "locations-readable";
        String title = "Every location could be read";
        List<String> failed = new ArrayList<>();
        for (LocationReading r : result.readings()) {
            if (!r.status().answered()) {
                failed.add(r.source().id() + ": " + failureText(r));
            }
        }
        return failed.isEmpty()
                ? new Check(id, title, true, "user_profiles, user_settings and the local store answered")
                : new Check(id, title, false, String.join("; ", failed));
    }

    // ----- helpers -----------------------------------------------------------------------------

    /** Same stored value; for the key, the same plaintext (compared in memory, never shown). */
    private boolean sameValue(ReadResult result, FieldValue a, FieldValue b) {
        if (!a.field().secret()) {
            return Objects.equals(a.value(), b.value());
        }
        if (!a.readable() || !b.readable()) {
            return a.source() == b.source();
        }
        return Objects.equals(open(result.tenantId(), result.userId(), a), open(result.tenantId(), result.userId(), b));
    }

    private String open(String tenant, UUID user, FieldValue v) {
        try {
            return keys.plaintext(tenant, user, v);
        } catch (FieldCipher.EnvelopeException e) {
            return null;
        }
    }

    private static String versionText(FieldValue v) {
        return v.versioned() ? "version " + v.version() : "no version";
    }

    private static String failureText(LocationReading r) {
        if (r.status() == LocationStatus.TIMEOUT) {
            return "no answer within the read timeout";
        }
        if (r.failure() == null) {
            return r.status().id();
        }
        return r.failure().failureClass().id() + " " + r.failure().code() + ": " + r.failure().message();
    }
}
