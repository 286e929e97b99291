package dev.agentconfig.core;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * A save ready for the stores: saveId and versions assigned, the key sealed in its envelope.
 * A new save has one version for all its fields; a replay of a local entry carries each field's own
 * version and saveId (fields merged from several saves).
 *
 * @param version       the save's version: the newest of its fields
 * @param targets       the tables to write: both for a new save, the ones still pending for a replay
 * @param entryRevision for a replay, the revision of the local entry replayed (the entry is removed
 *                      only if it is still at that revision); 0 otherwise
 * @param fresh         versioned by this service's clock for this request (not a replay, not a repeated
 *                      Idempotency-Key, not the sender's editedAt): if a table turns out to hold a newer
 *                      version from a clock ahead of ours, the save is written once more above it
 * @param idempotency   the caller's Idempotency-Key of this save (recorded with it, durably), or null
 */
public record SealedSave(UserKey user, UUID saveId, long version, Map<Field, VersionedValue> fields, Origin origin,
                         Set<Target> targets, long entryRevision, boolean fresh, IdempotencyRecord idempotency) {

    public SealedSave {
        fields = Collections.unmodifiableMap(fields.isEmpty() ? new EnumMap<>(Field.class) : new EnumMap<>(fields));
        targets = Collections.unmodifiableSet(targets.isEmpty() ? EnumSet.noneOf(Target.class) : EnumSet.copyOf(targets));
    }

    /** A new save: every field at the same version and saveId. */
    public static SealedSave of(UserKey user, UUID saveId, long version, Changes sealed, Origin origin) {
        return of(user, saveId, version, sealed, origin, false);
    }

    public static SealedSave of(UserKey user, UUID saveId, long version, Changes sealed, Origin origin, boolean fresh) {
        return of(user, saveId, version, sealed, origin, fresh, null);
    }

    /** @param idempotency the caller's Idempotency-Key of the save, or null */
    public static SealedSave of(UserKey user, UUID saveId, long version, Changes sealed, Origin origin, boolean fresh,
                                IdempotencyRecord idempotency) {
        Map<Field, VersionedValue> fields = new EnumMap<>(Field.class);
        for (Field f : sealed.fields()) {
            fields.put(f, new VersionedValue(sealed.get(f), version, saveId));
        }
        return new SealedSave(user, saveId, version, fields, origin, EnumSet.allOf(Target.class), 0, fresh, idempotency);
    }

    /** The record of its Idempotency-Key as this save is now (its saveId and version), if it has one. */
    public Optional<IdempotencyRecord> idempotencyRecord() {
        return idempotency == null ? Optional.empty() : Optional.of(idempotency.of(this));
    }

    /** The same save at a newer version, once (not fresh any more): a table held a version from a clock ahead. */
    public SealedSave reversioned(long newVersion) {
        Map<Field, VersionedValue> out = new EnumMap<>(Field.class);
        fields.forEach((f, v) -> out.put(f, new VersionedValue(v.value(), newVersion, v.saveId())));
        return new SealedSave(user, saveId, newVersion, out, origin, targets, entryRevision, false, idempotency);
    }

    /** Other fields at this save's version and saveId, to both targets (the legacy key adopted by a save). */
    public SealedSave adopting(Field field, String sealedValue, Origin newOrigin) {
        Map<Field, VersionedValue> one = new EnumMap<>(Field.class);
        one.put(field, new VersionedValue(sealedValue, version, saveId));
        return new SealedSave(user, saveId, version, one, newOrigin, EnumSet.allOf(Target.class), 0, false, null);
    }

    public boolean writesProfile() {
        return targets.contains(Target.USER_PROFILES);
    }

    public boolean writesSettings() {
        return targets.contains(Target.USER_SETTINGS);
    }

    public String tenantId() {
        return user.tenantId();
    }

    public UUID userId() {
        return user.userId();
    }

    public boolean has(Field field) {
        return fields.containsKey(field);
    }

    /** The (sealed) value, null when cleared. */
    public String value(Field field) {
        VersionedValue v = fields.get(field);
        return v == null ? null : v.value();
    }

    public long versionOf(Field field) {
        VersionedValue v = fields.get(field);
        return v == null ? version : v.version();
    }

    public Map<Field, Long> versions() {
        Map<Field, Long> m = new EnumMap<>(Field.class);
        fields.forEach((f, v) -> m.put(f, v.version()));
        return m;
    }

    public boolean replay() {
        return origin == Origin.REPLAY;
    }

    @Override
    public String toString() {
        return "SealedSave[" + user + " " + saveId + " v" + version + " " + fields.keySet() + " " + origin.id() + "]";
    }
}
