package dev.agentconfig.read;

import java.time.Instant;

import dev.agentconfig.core.Field;

/**
 * One field as one location holds it. For the key, {@code value} is its envelope, or for a
 * legacy row the plaintext the seed wrote into user_settings.retell_config.api_key
 * ({@code legacyPlaintext}); it is only ever opened or masked when an answer is built.
 *
 * @param value            the stored value; null when a save cleared the field
 * @param version          the field's version (microseconds since the epoch); 0 when the row
 *                         was written without one (the seed's rows)
 * @param updatedAt        when the value was written, if known
 * @param unreadableReason for the key: why it does not decrypt (wrong key, tampered, sealed for
 *                         another user); null when it opens (or is null, or legacy plaintext)
 */
public record FieldValue(Field field, String value, long version, Instant updatedAt, Source source,
                         boolean legacyPlaintext, String unreadableReason) {

    public boolean versioned() {
        return version > 0;
    }

    public boolean readable() {
        return unreadableReason == null;
    }

    /** Never the value: it may be the key. */
    @Override
    public String toString() {
        return "FieldValue[" + field.json() + "@" + source.id() + " v" + version
                + (legacyPlaintext ? " legacy" : "") + (readable() ? "" : " unreadable") + "]";
    }
}
