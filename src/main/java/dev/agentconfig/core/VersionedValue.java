package dev.agentconfig.core;

import java.util.UUID;

/**
 * One field's value with its version and the save that wrote it. For the key the value is its
 * envelope; null when the save cleared the field.
 */
public record VersionedValue(String value, long version, UUID saveId) {
    @Override
    public String toString() {
        return "VersionedValue[v" + version + "]";
    }
}
