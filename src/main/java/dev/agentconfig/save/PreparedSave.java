package dev.agentconfig.save;

import dev.agentconfig.core.Field;
import dev.agentconfig.core.Changes;
import java.util.EnumMap;
import java.util.Map;
import java.util.UUID;

/**
 * A save ready for the stores: saveId and version assigned, the key sealed in its envelope.
 * A new save has one version for all its fields; a replay of a local entry carries each
 * field's own version (fields merged from several saves).
 */
public record PreparedSave(String tenantId, UUID userId, UUID saveId, long version, Changes sealed,
                           Map<Field, Long> fieldVersions) {

    public PreparedSave(String tenantId, UUID userId, UUID saveId, long version, Changes sealed) {
        this(tenantId, userId, saveId, version, sealed, uniform(sealed, version));
    }

    private static Map<Field, Long> uniform(Changes sealed, long version) {
        Map<Field, Long> m = new EnumMap<>(Field.class);
        for (Field f : sealed.fields()) {
            m.put(f, version);
        }
        return m;
    }

    public long versionOf(Field field) {
        Long v = fieldVersions.get(field);
        return v == null ? version : v;
    }

    @Override
    public String toString() {
        return "PreparedSave[" + tenantId + "/" + userId + " " + saveId + " v" + version + " " + sealed + "]";
    }
}
