package dev.agentconfig.core;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.UUID;

/**
 * A save ready for the stores: saveId and versions assigned, the key sealed in its envelope.
 * A new save has one version for all its fields; a replay of a local entry carries each field's own
 * version and saveId (fields merged from several saves).
 *
 * @param version       the save's version: the newest of its fields
 * @param entryRevision for a replay, the revision of the local entry replayed (the entry is removed
 *                      only if it is still at that revision); 0 otherwise
 */
public record SealedSave(UserKey user, UUID saveId, long version, Map<Field, VersionedValue> fields, Origin origin,
                         long entryRevision) {

    public SealedSave {
        fields = Collections.unmodifiableMap(new EnumMap<>(fields));
    }

    /** A new save: every field at the same version and saveId. */
    public static SealedSave of(UserKey user, UUID saveId, long version, Changes sealed, Origin origin) {
        Map<Field, VersionedValue> fields = new EnumMap<>(Field.class);
        for (Field f : sealed.fields()) {
            fields.put(f, new VersionedValue(sealed.get(f), version, saveId));
        }
        return new SealedSave(user, saveId, version, fields, origin, 0);
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
