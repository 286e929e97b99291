package dev.agentconfig.crypto;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM for the one secret field. Envelope: {@code v1:<keyId>:<nonce>:<ciphertext+tag>}
 * (base64url, no padding); associated data {@code <tenantId>:<userId>:<field>} binds a
 * ciphertext to its owner, so a value copied to another user or tenant does not decrypt.
 */
public final class FieldCipher {
    private static final String VERSION = "v1";
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();

    private final SecretKey key;
    private final String keyId;
    private final SecureRandom random = new SecureRandom();

    public FieldCipher(byte[] keyBytes) {
        if (keyBytes.length != 32) {
            throw new IllegalArgumentException("the encryption key must be 32 bytes (base64 of 32 bytes), got "
                    + keyBytes.length);
        }
        this.key = new SecretKeySpec(keyBytes, "AES");
        this.keyId = keyIdOf(keyBytes);
    }

    /** A short public fingerprint of the key: which key sealed an envelope, never the key itself. */
    static String keyIdOf(byte[] keyBytes) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(keyBytes);
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public String keyId() {
        return keyId;
    }

    public String seal(String plaintext, String associatedData) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(associatedData.getBytes(StandardCharsets.UTF_8));
            byte[] sealed = cipher.doFinal(plaintext.getBytes(StandardCharsets.UTF_8));
            return VERSION + ":" + keyId + ":" + B64.encodeToString(nonce) + ":" + B64.encodeToString(sealed);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available", e);
        }
    }

    /** @throws EnvelopeException when the envelope is malformed, from another key, or tampered with */
    public String open(String envelope, String associatedData) {
        String[] parts = envelope == null ? new String[0] : envelope.split(":", -1);
        if (parts.length != 4 || !VERSION.equals(parts[0])) {
            throw new EnvelopeException("not a v1 envelope");
        }
        if (!keyId.equals(parts[1])) {
            throw new EnvelopeException("sealed with another key (" + parts[1] + ")");
        }
        try {
            byte[] nonce = B64D.decode(parts[2]);
            byte[] sealed = B64D.decode(parts[3]);
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(associatedData.getBytes(StandardCharsets.UTF_8));
            return new String(cipher.doFinal(sealed), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new EnvelopeException("does not decrypt (tampered, or sealed for another user)");
        }
    }


    /** First and last characters only, at most 4 of each and never more than a third of the key. */
    public static String mask(String plaintext) {
        if (plaintext == null) {
            return null;
        }
        int show = Math.min(4, plaintext.length() / 6);
        if (show == 0) {
            return "…";
        }
        return plaintext.substring(0, show) + "…" + plaintext.substring(plaintext.length() - show);
    }

    /** The envelope could not be opened; the message never contains key material. */
    public static final class EnvelopeException extends RuntimeException {
        public EnvelopeException(String message) {
            super(message, null, false, false);
        }
    }
}
