package dev.agentconfig.read;

import java.util.UUID;

import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.core.Field;

/**
 * Opens the key a location holds: its envelope, or the seed's legacy plaintext as it is. The
 * plaintext lives only in the caller's local variable: to mask it, or for an audited reveal.
 */
public final class KeyReader {
    private final FieldCipher cipher;

    public KeyReader(FieldCipher cipher) {
        this.cipher = cipher;
    }

    /** Why the stored key cannot be opened, or null when it can (or there is nothing to open). */
    public String unreadableReason(String tenantId, UUID userId, String stored, boolean legacyPlaintext) {
        if (stored == null || legacyPlaintext) {
            return null;
        }
        try {
            cipher.open(stored, Field.RETELL_API_KEY.associatedData(tenantId, userId));
            return null;
        } catch (FieldCipher.EnvelopeException e) {
            return e.getMessage();
        }
    }

    /**
     * The plaintext of a key value, or null when it is cleared.
     *
     * @throws FieldCipher.EnvelopeException when it does not decrypt
     */
    public String plaintext(String tenantId, UUID userId, FieldValue value) {
        if (value.value() == null) {
            return null;
        }
        if (value.legacyPlaintext()) {
            return value.value();
        }
        return cipher.open(value.value(), Field.RETELL_API_KEY.associatedData(tenantId, userId));
    }

    /** The masked key, or null when cleared or unreadable. */
    public String masked(String tenantId, UUID userId, FieldValue value) {
        if (!value.readable()) {
            return null;
        }
        try {
            return FieldCipher.mask(plaintext(tenantId, userId, value));
        } catch (FieldCipher.EnvelopeException e) {
            return null;
        }
    }
}
