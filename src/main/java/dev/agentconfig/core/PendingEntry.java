package dev.agentconfig.core;

import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;


/**
 * One local-store document: what waits for the database for one (tenant, user). Fields are merged
 * per field by {@link LastWriterWins}; the API key is only ever its envelope. The JSON shape on disk
 * is this record's (format 1).
 */
public record PendingEntry(
        int format,
        String tenantId,
        String userId,
        Map<String, FieldEntry> fields,
        List<String> pendingTargets,
        String state,
        ErrorInfo lastError,
        int attempts,
        String nextAttemptAt,
        String createdAt,
        String updatedAt,
        long revision,
        Map<String, KeyEntry> idempotencyKeys,
        List<String> traceparents,
        List<ErrorInfo> failures) {

    /** The newest W3C traceparents an entry keeps of the requests that parked it (observe/Tracing). */
    public static final int TRACES_KEPT = 8;

    /** The failures an entry remembers, oldest first; older ones are dropped (the count stays in attempts). */
    public static final int MAX_FAILURES = 20;

    public PendingEntry {
        idempotencyKeys = idempotencyKeys == null || idempotencyKeys.isEmpty() ? Map.of()
                : Collections.unmodifiableMap(new TreeMap<>(idempotencyKeys));
        traceparents = traceparents == null ? List.of() : List.copyOf(traceparents);
        failures = failures == null || failures.isEmpty() ? List.of()
                : List.copyOf(failures.subList(Math.max(0, failures.size() - MAX_FAILURES), failures.size()));
    }

    /** An entry without traceparents or a failure history (as written before they were kept here). */
    public PendingEntry(int format, String tenantId, String userId, Map<String, FieldEntry> fields,
                        List<String> pendingTargets, String state, ErrorInfo lastError, int attempts,
                        String nextAttemptAt, String createdAt, String updatedAt, long revision,
                        Map<String, KeyEntry> idempotencyKeys) {
        this(format, tenantId, userId, fields, pendingTargets, state, lastError, attempts, nextAttemptAt, createdAt,
                updatedAt, revision, idempotencyKeys, List.of(), List.of());
    }

    /** The failure history with one more failure (each attempt: when, class, code, message, target). */
    private static List<ErrorInfo> with(List<ErrorInfo> failures, ErrorInfo error) {
        if (error == null) {
            return failures;
        }
        List<ErrorInfo> out = new ArrayList<>(failures);
        out.add(error);
        return out;
    }

    /** An entry without Idempotency-Keys (as written before they were kept here). */
    public PendingEntry(int format, String tenantId, String userId, Map<String, FieldEntry> fields,
                        List<String> pendingTargets, String state, ErrorInfo lastError, int attempts,
                        String nextAttemptAt, String createdAt, String updatedAt, long revision) {
        this(format, tenantId, userId, fields, pendingTargets, state, lastError, attempts, nextAttemptAt, createdAt,
                updatedAt, revision, Map.of());
    }

    /**
     * The Idempotency-Key of a parked save (core/IdempotencyRecord): its content's fingerprint, the saveId and
     * version it was given, when the key was first used. A retry of the save finds it here while it is parked
     * (also after a restart); the sync records it in the database before the entry is replayed.
     */
    public record KeyEntry(String fingerprint, String saveId, long version, String at) {
        static KeyEntry of(IdempotencyRecord r) {
            return new KeyEntry(r.fingerprint(), r.saveId().toString(), r.version(), r.at().toString());
        }

        @Override
        public String toString() {
            return "KeyEntry[" + saveId + " v" + version + "]";
        }
    }

    public static final String PENDING = "pending";
    public static final String QUARANTINED = "quarantined";

    /** A field's value (an envelope for the key; null when the save cleared it), version and save. */
    public record FieldEntry(String value, long version, String saveId) {
        @Override
        public String toString() {
            return "FieldEntry[v" + version + "]";
        }
    }

    /** The last failure: class, code, message, the target that failed, and when. */
    public record ErrorInfo(String failureClass, String code, String message, String target, String at) {
        public static ErrorInfo of(Failure f, Target target, Instant at) {
            return new ErrorInfo(f.failureClass().id(), f.code(), f.message(), target.table(), at.toString());
        }
    }

    public UserKey key() {
        return UserKey.of(tenantId, userId);
    }

    public boolean quarantined() {
        return QUARANTINED.equals(state);
    }

    public boolean pending() {
        return PENDING.equals(state);
    }

    public Instant nextAttempt() {
        return nextAttemptAt == null ? Instant.EPOCH : instant(nextAttemptAt);
    }

    public Instant created() {
        return createdAt == null ? Instant.EPOCH : instant(createdAt);
    }

    /**
     * This entry with a save merged in for the targets that could not take it (one write per save,
     * whatever number of targets failed). A field already held at a newer version is kept; a rejected
     * target quarantines the entry.
     *
     * @param existing the entry on disk, or null
     * @param failed   the targets to park and why; the first in target order becomes the last error
     */
    public static PendingEntry merge(PendingEntry existing, SealedSave save, Map<Target, Failure> failed, Instant now) {
        return merge(existing, save, failed, now, null);
    }

    /**
     * As {@link #merge(PendingEntry, SealedSave, Map, Instant)}, keeping the W3C traceparent of the request
     * that parks the save (null: none) with the entry's others, the newest {@value #TRACES_KEPT} (the sync's
     * replay links back to them).
     */
    public static PendingEntry merge(PendingEntry existing, SealedSave save, Map<Target, Failure> failed, Instant now,
                                     String traceparent) {
        if (failed.isEmpty()) {
            throw new IllegalArgumentException("nothing to park");
        }
        Map<String, FieldEntry> fields = new TreeMap<>();
        TreeSet<String> targets = new TreeSet<>();
        boolean quarantine = failed.values().stream().anyMatch(f -> f.failureClass() == FailureClass.REJECTED
                || f.failureClass() == FailureClass.TENANT_CONFLICT);
        String state = quarantine ? QUARANTINED : PENDING;
        int attempts = 1;
        String createdAt = now.toString();
        long revision = 1;
        Map<String, KeyEntry> keys = new TreeMap<>();
        List<String> traces = new ArrayList<>();
        List<ErrorInfo> history = List.of();
        if (existing != null) {
            traces.addAll(existing.traceparents());
            history = existing.failures();
            keys.putAll(existing.idempotencyKeys());
            fields.putAll(existing.fields());
            targets.addAll(existing.pendingTargets());
            if (existing.quarantined()) {
                state = QUARANTINED;
            }
            attempts = Math.max(existing.attempts(), 1);
            createdAt = existing.createdAt();
            revision = existing.revision() + 1;
        }
        save.fields().forEach((field, value) -> {
            FieldEntry current = fields.get(field.json());
            if (current == null || LastWriterWins.replaces(value.version(), current.version())) {
                fields.put(field.json(), new FieldEntry(value.value(), value.version(), value.saveId().toString()));
            }
        });
        save.idempotencyRecord().ifPresent(r -> {
            KeyEntry known = keys.get(r.key());
            // the first save of a key keeps it; the same save at a newer version (a reversion) moves it
            if (known == null || (known.saveId().equals(r.saveId().toString())
                    && LastWriterWins.replaces(r.version(), known.version()))) {
                keys.put(r.key(), KeyEntry.of(r));
            }
        });
        Target first = null;
        for (Target t : Target.values()) {
            if (failed.containsKey(t)) {
                targets.add(t.table());
                if (first == null || (failed.get(t).failureClass() == FailureClass.REJECTED
                        && failed.get(first).failureClass() != FailureClass.REJECTED)) {
                    first = t;
                }
            }
        }
        ErrorInfo error = ErrorInfo.of(failed.get(first), first, now);
        if (traceparent != null && !traces.contains(traceparent)) {
            traces.add(traceparent);
        }
        while (traces.size() > TRACES_KEPT) {
            traces.remove(0);
        }
        // a quarantined entry has no next attempt: it waits for POST .../retry
        return new PendingEntry(1, save.tenantId(), save.userId().toString(), fields, List.copyOf(targets), state,
                error, attempts, QUARANTINED.equals(state) ? null : now.toString(), createdAt, now.toString(), revision,
                keys, traces, with(history, error));
    }

    /**
     * This entry after a replay by the sync: the targets still pending, its state, the last error,
     * attempts and next attempt (null: none planned, as for a quarantined entry). Fields unchanged.
     */
    public PendingEntry settled(List<String> targets, String newState, ErrorInfo error, int newAttempts,
                                Instant nextAttempt, Instant now) {
        return new PendingEntry(format, tenantId, userId, fields, List.copyOf(new TreeSet<>(targets)), newState, error,
                newAttempts, nextAttempt == null ? null : nextAttempt.toString(), createdAt, now.toString(),
                revision + 1, idempotencyKeys, traceparents, with(failures, error));
    }

    /** A quarantined entry put back in line by an operator: pending and due now, its history kept. */
    public PendingEntry requeued(Instant now) {
        return new PendingEntry(format, tenantId, userId, fields, pendingTargets, PENDING, lastError, attempts,
                now.toString(), createdAt, now.toString(), revision + 1, idempotencyKeys, traceparents, failures);
    }

    /**
     * This entry with one field's value replaced by the same value sealed again (key rotation): the
     * field keeps its version and saveId, the entry its state; the revision moves on, so a replay that
     * read the entry before does not remove it.
     */
    public PendingEntry resealed(String field, String value, Instant now) {
        FieldEntry current = fields.get(field);
        if (current == null) {
            throw new IllegalArgumentException("no field " + field);
        }
        Map<String, FieldEntry> changed = new TreeMap<>(fields);
        changed.put(field, new FieldEntry(value, current.version(), current.saveId()));
        return new PendingEntry(format, tenantId, userId, changed, pendingTargets, state, lastError, attempts,
                nextAttemptAt, createdAt, now.toString(), revision + 1, idempotencyKeys, traceparents, failures);
    }

    /**
     * A quarantined entry edited by an operator: the fields of the edit (a new save: its own saveId and a version
     * above every other) replace the entry's; state, targets and failure history stay (resubmit to replay it).
     */
    public PendingEntry edited(SealedSave edit, Instant now) {
        Map<String, FieldEntry> changed = new TreeMap<>(fields);
        edit.fields().forEach((field, value) -> changed.put(field.json(),
                new FieldEntry(value.value(), value.version(), value.saveId().toString())));
        return new PendingEntry(format, tenantId, userId, changed, pendingTargets, state, lastError, attempts,
                nextAttemptAt, createdAt, now.toString(), revision + 1, idempotencyKeys, traceparents, failures);
    }

    /** The record of an Idempotency-Key this entry holds, if it holds it. */
    public Optional<IdempotencyRecord> idempotencyRecord(String key) {
        KeyEntry k = idempotencyKeys.get(key);
        return k == null ? Optional.empty() : Optional.of(new IdempotencyRecord(key, k.fingerprint(),
                parseUuid(k.saveId()), k.version(), Instant.parse(k.at())));
    }

    /**
     * This entry without the fields of the saves named (repeats of saves the database already holds under
     * their Idempotency-Key): a field another save wrote since stays; the keys of those saves go. Empty fields:
     * nothing left to replay.
     */
    public PendingEntry withoutSaves(Set<String> saveIds, Instant now) {
        Map<String, FieldEntry> kept = new TreeMap<>(fields);
        kept.values().removeIf(f -> saveIds.contains(f.saveId()));
        Map<String, KeyEntry> keys = new TreeMap<>(idempotencyKeys);
        keys.values().removeIf(k -> saveIds.contains(k.saveId()));
        return new PendingEntry(format, tenantId, userId, kept, pendingTargets, state, lastError, attempts,
                nextAttemptAt, createdAt, now.toString(), revision + 1, keys, traceparents, failures);
    }

    /** The entry as a save: each field at the version (and saveId) it was stored with. */
    public SealedSave asReplay() {
        Map<Field, VersionedValue> values = new java.util.EnumMap<>(Field.class);
        long newest = 0;
        java.util.UUID newestSaveId = null;
        for (Map.Entry<String, FieldEntry> f : fields.entrySet()) {
            var field = Field.byJson(f.getKey());
            if (field.isEmpty()) {
                continue; // an unknown field (a newer format?) is not replayed; it stays in the file
            }
            java.util.UUID saveId = parseUuid(f.getValue().saveId());
            values.put(field.get(), new VersionedValue(f.getValue().value(), f.getValue().version(), saveId));
            // the replay's version and saveId are its newest field's (the last of equal ones)
            if (!LastWriterWins.replaces(newest, f.getValue().version())) {
                newest = f.getValue().version();
                newestSaveId = saveId;
            }
        }
        java.util.Set<Target> targets = java.util.EnumSet.noneOf(Target.class);
        for (String t : pendingTargets) {
            targets.add(Target.byTable(t));
        }
        return new SealedSave(key(), newestSaveId == null ? java.util.UUID.randomUUID() : newestSaveId, newest, values,
                Origin.REPLAY, targets, revision, false, null);
    }

    private static java.util.UUID parseUuid(String s) {
        try {
            return s == null ? java.util.UUID.randomUUID() : java.util.UUID.fromString(s);
        } catch (IllegalArgumentException e) {
            return java.util.UUID.randomUUID();
        }
    }

    @Override
    public String toString() {
        return "PendingEntry[" + tenantId + "/" + userId + " " + fields.keySet() + " -> " + pendingTargets + " "
                + state + " r" + revision + "]";
    }

    /**
     * An instant as an entry stores it ({@link Instant#toString}: {@code 2026-12-07T20:30:05.404031623Z}), read without
     * the general ISO parser (the drain asks every entry's next attempt: {@link Instant#parse} was an eighth of a
     * replay thread's samples); any other shape goes to {@link Instant#parse}, which also reports what is wrong.
     */
    static Instant instant(String text) {
        int n = text.length();
        if (n >= 20 && n <= 30 && text.charAt(4) == '-' && text.charAt(7) == '-' && text.charAt(10) == 'T'
                && text.charAt(13) == ':' && text.charAt(16) == ':' && text.charAt(n - 1) == 'Z') {
            int year = digits(text, 0, 4);
            int month = digits(text, 5, 7);
            int day = digits(text, 8, 10);
            int hour = digits(text, 11, 13);
            int minute = digits(text, 14, 16);
            int second = digits(text, 17, 19);
            int nanos = 0;
            boolean shape = n == 20;
            if (n > 21 && text.charAt(19) == '.') {
                int fraction = digits(text, 20, n - 1);
                shape = fraction >= 0;
                nanos = fraction;
                for (int k = n - 1 - 20; k < 9; k++) {
                    nanos *= 10;
                }
            }
            if (shape && year >= 0 && month >= 1 && month <= 12 && day >= 1 && hour >= 0 && hour <= 23 && minute >= 0
                    && minute <= 59 && second >= 0 && second <= 59 && day <= YearMonth.of(year, month).lengthOfMonth()) {
                long days = LocalDate.of(year, month, day).toEpochDay();
                return Instant.ofEpochSecond(days * 86_400 + hour * 3_600L + minute * 60L + second, nanos);
            }
        }
        return Instant.parse(text);
    }

    /** The decimal number in {@code text[from, to)}, or -1 when it is not all digits. */
    private static int digits(String text, int from, int to) {
        int v = 0;
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }
}
