package dev.agentconfig.crypto;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM for the one secret field. Envelope: {@code v1:<keyId>:<nonce>:<ciphertext+tag>}
 * (base64url, no padding); associated data {@code <tenantId>:<userId>:<field>} binds a
 * ciphertext to its owner, so a value copied to another user or tenant does not decrypt.
 *
 * <p>Keys come from a {@link Keyring}: the active key seals, opening uses the key the envelope
 * names. An envelope whose key is not in the keyring cannot be opened and says which key it needs.
 */
public final class FieldCipher {
    private static final String VERSION = "v1";
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();
    private static final Pattern ENVELOPE_KEY_ID = Pattern.compile("^v1:([0-9a-f]{8}):");

    private final Keyring keyring;
    private final SecureRandom random = new SecureRandom();

    /** One key, active (tests, and {@code agentconfig.encryption.key} alone). */
    public FieldCipher(byte[] keyBytes) {
        this(singleKey(keyBytes));
    }

    public FieldCipher(Keyring keyring) {
        this.keyring = keyring;
    }

    private static Keyring singleKey(byte[] keyBytes) {
        if (keyBytes.length != 32) {
            throw new IllegalArgumentException("the encryption key must be 32 bytes (base64 of 32 bytes), got "
                    + keyBytes.length);
        }
        return Keyring.single(keyBytes);
    }

    /** A short public fingerprint of the key: which key sealed an envelope, never the key itself. */
    static String keyIdOf(byte[] keyBytes) {
        return Keyring.keyIdOf(keyBytes);
    }

    /** The key id of an envelope of this service ({@code v1:<keyId>:…}), or empty for anything else. */
    public static Optional<String> keyIdOf(String envelope) {
        if (envelope == null) {
            return Optional.empty();
        }
        Matcher m = ENVELOPE_KEY_ID.matcher(envelope);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** The active key's id: the key every new value is sealed with. */
    public String keyId() {
        return keyring.activeKeyId();
    }

    public Keyring keyring() {
        return keyring;
    }

    /** Sealed with the active key already: nothing to rotate. */
    public boolean sealedWithActiveKey(String envelope) {
        return keyIdOf(envelope).filter(keyring.activeKeyId()::equals).isPresent();
    }

    public String seal(String plaintext, String associatedData) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, keyring.key(keyring.activeKeyId()), new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(associatedData.getBytes(StandardCharsets.UTF_8));
            byte[] sealed = cipher.doFinal(plaintext.getBytes(StandardCharsets.UTF_8));
            return VERSION + ":" + keyring.activeKeyId() + ":" + B64.encodeToString(nonce) + ":"
                    + B64.encodeToString(sealed);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available", e);
        }
    }

    /** @throws EnvelopeException when the envelope is malformed, from a key not in the keyring, or tampered with */
    public String open(String envelope, String associatedData) {
        String[] parts = envelope == null ? new String[0] : envelope.split(":", -1);
        if (parts.length != 4 || !VERSION.equals(parts[0])) {
            throw new EnvelopeException("not a v1 envelope");
        }
        if (!Keyring.KEY_ID.matcher(parts[1]).matches()) {
            throw new EnvelopeException("not a v1 envelope (malformed key id)");
        }
        SecretKey key = keyring.key(parts[1]);
        if (key == null) {
            throw new EnvelopeException("sealed with another key (" + parts[1] + "), which is not in this service's "
                    + "keyring (" + String.join(", ", keyring.keyIds()) + ")", parts[1]);
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

    /**
     * The same value sealed again with the active key (a new nonce). The plaintext lives only inside
     * this method.
     *
     * @throws EnvelopeException when the envelope cannot be opened
     */
    public String reseal(String envelope, String associatedData) {
        return seal(open(envelope, associatedData), associatedData);
    }

    /**
     * A keyed fingerprint of {@code content} ({@code <keyId>:<HMAC-SHA256, base64url>}) that outlives the
     * process and says nothing of the content without the key: the HMAC's key is derived from the active
     * encryption key (HMAC-SHA256 of it over {@value #FINGERPRINT_LABEL}), never the encryption key itself.
     * The key id names which key, so a fingerprint taken before a rotation can still be compared.
     */
    public String fingerprint(byte[] content) {
        return keyring.activeKeyId() + ":" + B64.encodeToString(fingerprintMac(keyring.key(keyring.activeKeyId()), content));
    }

    /**
     * Whether {@code fingerprint} is the one of {@code content} (compared in constant time).
     *
     * @throws EnvelopeException when the key it was taken with is not in the keyring any more
     */
    public boolean fingerprintMatches(String fingerprint, byte[] content) {
        int colon = fingerprint == null ? -1 : fingerprint.indexOf(':');
        String keyId = colon < 0 ? "" : fingerprint.substring(0, colon);
        SecretKey key = Keyring.KEY_ID.matcher(keyId).matches() ? keyring.key(keyId) : null;
        if (key == null) {
            throw new EnvelopeException("a fingerprint of another key (" + keyId + "), which is not in this service's "
                    + "keyring", keyId);
        }
        byte[] expected = fingerprintMac(key, content);
        byte[] given;
        try {
            given = B64D.decode(fingerprint.substring(colon + 1));
        } catch (IllegalArgumentException e) {
            return false;
        }
        return MessageDigest.isEqual(expected, given);
    }

    private static final String FINGERPRINT_LABEL = "agentconfig idempotency fingerprint v1";

    private static byte[] fingerprintMac(SecretKey encryptionKey, byte[] content) {
        try {
            Mac derive = Mac.getInstance("HmacSHA256");
            derive.init(new SecretKeySpec(encryptionKey.getEncoded(), "HmacSHA256"));
            byte[] macKey = derive.doFinal(FINGERPRINT_LABEL.getBytes(StandardCharsets.UTF_8));
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(macKey, "HmacSHA256"));
            return mac.doFinal(content);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available", e);
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
        private final String missingKeyId;

        public EnvelopeException(String message) {
            this(message, null);
        }

        EnvelopeException(String message, String missingKeyId) {
            super(message, null, false, false);
            this.missingKeyId = missingKeyId;
        }

        /** The key id the envelope names when that key is not in the keyring; empty for any other reason. */
        public Optional<String> missingKeyId() {
            return Optional.ofNullable(missingKeyId);
        }
    }
}
