package dev.agentconfig.read;

import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.PendingEntry;

/**
 * What one location answered for one (tenant, user): its status, the fields it holds, and for
 * the local store the pending entry itself (its sync state).
 *
 * @param legacyPlaintextKey user_settings only: retell_config still holds the seed's plaintext
 *                           {@code api_key}
 */
public record LocationReading(Source source, LocationStatus status, Map<Field, FieldValue> fields,
                              Failure failure, PendingEntry entry, boolean legacyPlaintextKey,
                              Instant rowUpdatedAt) {

    public LocationReading {
        fields = fields.isEmpty() ? Map.of() : new EnumMap<>(fields);
    }

    public static LocationReading found(Source source, Map<Field, FieldValue> fields, PendingEntry entry,
                                        boolean legacyPlaintextKey, Instant rowUpdatedAt) {
        return new LocationReading(source, LocationStatus.OK, fields, null, entry, legacyPlaintextKey, rowUpdatedAt);
    }

    public static LocationReading empty(Source source) {
        return new LocationReading(source, LocationStatus.EMPTY, Map.of(), null, null, false, null);
    }

    public static LocationReading failed(Source source, Failure failure) {
        return new LocationReading(source, LocationStatus.ERROR, Map.of(), failure, null, false, null);
    }

    public static LocationReading timedOut(Source source) {
        return new LocationReading(source, LocationStatus.TIMEOUT, Map.of(), null, null, false, null);
    }

    public Optional<FieldValue> field(Field field) {
        return Optional.ofNullable(fields.get(field));
    }

    public Optional<PendingEntry> pendingEntry() {
        return Optional.ofNullable(entry);
    }
}
