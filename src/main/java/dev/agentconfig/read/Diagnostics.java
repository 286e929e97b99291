package dev.agentconfig.read;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.core.Failure;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.PendingEntry;

/**
 * The seed's diagnostic tool, done properly: what each location holds (the key masked), each
 * field's version, the merged view, and the seed's checklist as checks that pass or fail.
 * Unlike a read, it answers 200 for a user no location knows: "found nowhere" is a diagnosis.
 */
public final class Diagnostics {
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);
    private static final Pattern HOST_PORT = Pattern.compile("([A-Za-z0-9.\\-]+:\\d{1,5})");
    private final KeyReader keys;
    /** rest transport: what PostgREST said is missing (named objects); null with jdbc. */
    private final Supplier<List<String>> schemaDrift;
    /** Since when the database is out of reach (the breakers held open), if it is. */
    private final Supplier<Optional<Instant>> downSince;
    /** How many saves of every user wait on this server (the local store). */
    private final LongSupplier waiting;
    /** Where saves the database cannot take are parked (save/Parking#figures): the mode, the counts, the lag. */
    private final Supplier<Map<String, Object>> parking;

    public Diagnostics(KeyReader keys) {
        this(keys, null);
    }

    public Diagnostics(KeyReader keys, Supplier<List<String>> schemaDrift) {
        this(keys, schemaDrift, Optional::empty, () -> 0);
    }

    public Diagnostics(KeyReader keys, Supplier<List<String>> schemaDrift, Supplier<Optional<Instant>> downSince,
                       LongSupplier waiting) {
        this(keys, schemaDrift, downSince, waiting, () -> Map.of("mode", "local"));
    }

    public Diagnostics(KeyReader keys, Supplier<List<String>> schemaDrift, Supplier<Optional<Instant>> downSince,
                       LongSupplier waiting, Supplier<Map<String, Object>> parking) {
        this.keys = keys;
        this.schemaDrift = schemaDrift;
        this.downSince = downSince;
        this.waiting = waiting;
        this.parking = parking;
    }

    /**
     * A check of the checklist: a stable id, what it asks, its status ({@code pass}, {@code fail}, or
     * {@code not-checked} when what it needs could not be read: then {@code pass} is null), and why.
     */
    public record Check(String id, String title, Boolean pass, String status, String detail) {
        Check(String id, String title, boolean pass, String detail) {
            this(id, title, pass, pass ? "pass" : "fail", detail);
        }

        static Check notChecked(String id, String title, String why) {
            return new Check(id, title, null, "not-checked", "not checked: " + why);
        }

        boolean failed() {
            return Boolean.FALSE.equals(pass);
        }
    }

    /**
     * What is wrong, in one line, first: the one cause behind the failing checks (the database out of reach,
     * a key that no longer opens, a save waiting...), said once.
     *
     * @param state {@code ok}, {@code database-unreachable}, {@code location-unreadable}, {@code key-lost},
     *              {@code quarantined}, {@code pending}, {@code attention} or {@code not-found}
     * @param since for database-unreachable: since when (ISO-8601), if known
     */
    public record Summary(String state, String text, String since) {
    }

    public Map<String, Object> report(ReadResult result) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("tenantId", result.tenantId());
        body.put("userId", result.userId().toString());
        body.put("found", result.found());
        List<Check> checks = checks(result);
        body.put("summary", summary(result, checks));
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
        // where saves the database cannot take are parked: the mode, this instance's counts, the topic's lag
        body.put("parking", parking.get());
        body.put("checks", checks);
        body.put("failedChecks", checks.stream().filter(Check::failed).map(Check::id).toList());
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

    // ----- the one line ------------------------------------------------------------------------

    /** The tables that could not be read because the database is out of reach, with the failure that says why. */
    private static Optional<Failure> databaseDown(ReadResult result) {
        return result.readings().stream().filter(r -> r.source().table() && r.failure() != null)
                .map(LocationReading::failure)
                .filter(f -> f.cause().databaseDown() || f.breakerOpen())
                .min(Comparator.comparing(f -> f.breakerOpen())); // a real cause before "breaker open"
    }

    private static boolean tableUnreadable(ReadResult result) {
        return result.readings().stream().anyMatch(r -> r.source().table() && !r.status().answered());
    }

    Summary summary(ReadResult result, List<Check> checks) {
        Optional<Failure> down = databaseDown(result);
        long saves = waiting.getAsLong();
        String kept = "Saves are kept on this server (" + saves + " waiting) and will be written when it returns.";
        Map<String, Object> parked = parking.get();
        if ("kafka".equals(parked.get("mode"))) {
            // parked on the shared topic: any instance drains them; the local store only holds the fallbacks
            Object lag = parked.get("topicLag");
            kept = "Saves are parked on " + parked.getOrDefault("place", "the parking topic") + " ("
                    + (lag == null ? "lag not known yet" : lag + " not drained yet") + "; "
                    + parked.getOrDefault("parkedOnKafka", 0) + " parked by this instance, "
                    + parked.getOrDefault("fellBackLocally", 0) + " fell back to its local store, " + saves
                    + " waiting there) and will be written when it returns.";
        }
        if (down.isPresent()) {
            Failure f = down.get();
            Optional<Instant> since = downSince.get();
            String where = where(f);
            String why = f.breakerOpen() ? "not asked until a probe finds it back"
                    : f.cause().label() + (where == null ? "" : " at " + where);
            return new Summary("database-unreachable", "The database is unreachable"
                    + since.map(t -> " since " + CLOCK.format(t)).orElse("") + " (" + why + "). " + kept,
                    since.map(Instant::toString).orElse(null));
        }
        if (tableUnreadable(result)) {
            List<String> parts = new ArrayList<>();
            for (LocationReading r : result.readings()) {
                if (r.source().table() && !r.status().answered()) {
                    parts.add(r.source().id() + " " + failureText(r));
                }
            }
            return new Summary("location-unreadable", "A table cannot be read: " + String.join("; ", parts) + ".", null);
        }
        Optional<Check> key = checks.stream().filter(c -> c.id().equals("key-decrypts") && c.failed()).findFirst();
        if (key.isPresent()) {
            return new Summary("key-lost", "This user's API key cannot be decrypted (" + key.get().detail()
                    + "): enter it again (the next save replaces it), or restore the encryption key it was sealed with.",
                    null);
        }
        if (!result.found()) {
            return new Summary("not-found", "No location knows this user under this tenant.", null);
        }
        Optional<PendingEntry> entry = result.reading(Source.LOCAL_STORE).pendingEntry();
        if (entry.isPresent() && entry.get().quarantined()) {
            return new Summary("quarantined", "A save of this user was refused by the database and waits on this server "
                    + "for an operator: fix the cause, then retry it (POST …/retry).", null);
        }
        if (entry.isPresent()) {
            return new Summary("pending", "The database answers; a save of this user waits on this server and is "
                    + "written by the next sync pass.", null);
        }
        List<Check> failed = checks.stream().filter(Check::failed).toList();
        if (!failed.isEmpty()) {
            return new Summary("attention", failed.get(0).title() + ": " + failed.get(0).detail() + ".", null);
        }
        return new Summary("ok", "Everything is in order: both tables hold the current values and nothing waits on "
                + "this server.", null);
    }

    /** host:port the driver named in its message, if it did. */
    private static String where(Failure f) {
        Matcher m = HOST_PORT.matcher(f.message() == null ? "" : f.message());
        if (f.cause() == Failure.Cause.UNKNOWN_HOST && f.message() != null) {
            return f.message().replace("unknown host ", "");
        }
        return m.find() ? m.group(1) : null;
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
            return Check.notChecked(id, title, table.id() + " could not be read (see \"Every location could be read\")");
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
            return Check.notChecked(id, title, "the local store could not be read (see \"Every location could be read\")");
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
            d.append("; last error: ").append(errorWords(e.lastError()));
        }
        d.append("; attempts ").append(e.attempts());
        if (!e.quarantined() && e.nextAttemptAt() != null) {
            d.append("; next attempt ").append(inWords(e.nextAttemptAt()));
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
        if (disagreements.isEmpty() && readingsUnanswered(result) > 0) {
            return Check.notChecked(id, title, readingsUnanswered(result) + " of " + Source.ASKED.size()
                    + " locations could not be read");
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
            return Check.notChecked(id, title, "user_settings could not be read");
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
        if (bad.isEmpty() && readingsUnanswered(result) > 0) {
            return Check.notChecked(id, title, "the keys the unreadable locations hold could not be looked at");
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
            if (r.source() != Source.LAST_KNOWN && !r.status().answered()) {
                failed.add(r.source().id());
            }
        }
        if (!failed.isEmpty()) {
            // one cause, said once: the tables that failed the same way are named together
            LocationReading first = result.readings().stream().filter(r -> failed.contains(r.source().id())).findFirst()
                    .orElseThrow();
            return new Check(id, title, false, String.join(", ", failed) + ": " + failureText(first));
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

    /** "in 3 s", "due now": a time relative to now, as a person reads it. */
    static String inWords(String iso) {
        try {
            long s = Duration.between(Instant.now(), Instant.parse(iso)).toSeconds();
            return s <= 0 ? "due now" : s < 120 ? "in " + s + " s" : "in " + (s / 60) + " min";
        } catch (RuntimeException e) {
            return iso;
        }
    }

    private static long readingsUnanswered(ReadResult result) {
        return result.readings().stream().filter(r -> r.source() != Source.LAST_KNOWN && !r.status().answered()).count();
    }

    /** A local entry's last error in words (its code kept for the log reader). */
    private static String errorWords(PendingEntry.ErrorInfo e) {
        Failure f = new Failure(
                FailureClass.byId(e.failureClass()), e.code(), e.message());
        return f.cause().label() + " (" + e.code() + ")";
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
        String where = where(r.failure());
        return r.failure().cause().label() + (where == null ? "" : " at " + where) + " (" + r.failure().code() + ")";
    }
}
