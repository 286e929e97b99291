package dev.agentconfig.crypto;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/**
 * The encryption keys by id, exactly one of them active. The active key seals every new value;
 * opening uses whichever key the envelope names ({@code v1:<keyId>:…}). A key id is the first 4
 * bytes of the key's SHA-256, in hex: a public fingerprint, never the key.
 *
 * <p>Built once at start from the configuration ({@link Secrets#keyring}); every rule that can
 * refuse a keyring (a key that is not 32 bytes, a label that is not its key's id, two keys with one
 * id, no active key or more than one) refuses the start with a message that names key ids and
 * settings, never key material.
 */
public final class Keyring {
    /** What a key id looks like: 8 lowercase hex characters. */
    public static final Pattern KEY_ID = Pattern.compile("[0-9a-f]{8}");

    private final Map<String, SecretKey> keys;
    private final Map<String, String> origins;
    private final String active;
    private final Secrets.PendingKey pending;

    private Keyring(Map<String, SecretKey> keys, Map<String, String> origins, String active, Secrets.PendingKey pending) {
        this.keys = Collections.unmodifiableMap(keys);
        this.origins = Collections.unmodifiableMap(origins);
        this.active = active;
        this.pending = pending;
    }

    /** One key, active: what {@code agentconfig.encryption.key} alone configures. */
    public static Keyring single(byte[] key) {
        Builder b = builder();
        b.add(null, key, "a single key");
        return b.build(Optional.empty());
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The id of a key: the first 4 bytes of its SHA-256, in hex. */
    public static String keyIdOf(byte[] key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key);
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public String activeKeyId() {
        return active;
    }

    /** Every key id, in the order they were configured. */
    public Set<String> keyIds() {
        return keys.keySet();
    }

    public boolean contains(String keyId) {
        return keys.containsKey(keyId);
    }

    SecretKey key(String keyId) {
        return keys.get(keyId);
    }

    /** Where a key came from (a setting's name, a file), for messages. */
    public String origin(String keyId) {
        return origins.get(keyId);
    }

    /**
     * Embedded mode on its first start: the key generated for {@code <data-dir>/secrets/encryption.key}, not
     * written yet. It is written (and fsynced) only once the start has found no sealed value that another
     * key would be needed for ({@link Secrets#persist}).
     */
    public Optional<Secrets.PendingKey> pendingGenerated() {
        return Optional.ofNullable(pending);
    }

    /** {@code 1a2b3c4d (active), 5e6f7a8b}: key ids only. */
    public String describe() {
        List<String> parts = new ArrayList<>();
        for (String id : keys.keySet()) {
            parts.add(id + (id.equals(active) ? " (active)" : ""));
        }
        return String.join(", ", parts);
    }

    @Override
    public String toString() {
        return "Keyring[" + describe() + "]";
    }

    /** Collects keys from every source, then picks the active one. */
    public static final class Builder {
        private final Map<String, SecretKey> keys = new LinkedHashMap<>();
        private final Map<String, byte[]> raw = new LinkedHashMap<>();
        private final Map<String, String> origins = new LinkedHashMap<>();
        private Secrets.PendingKey pending;

        private Builder() {
        }

        public boolean isEmpty() {
            return keys.isEmpty();
        }

        /**
         * @param label  the key id the configuration says this key has, or null; a label that is not
         *               the key's own id refuses the start (the wrong key was pasted)
         * @param key    32 bytes
         * @param origin where it came from, for messages (a setting's name, a file)
         * @return the key's id
         */
        public String add(String label, byte[] key, String origin) {
            if (key.length != 32) {
                throw new IllegalStateException(origin + ": an encryption key must be the base64 of 32 bytes, this one "
                        + "has " + key.length + " bytes");
            }
            String id = keyIdOf(key);
            if (label != null && !label.equals(id)) {
                throw new IllegalStateException(origin + ": the key labelled " + label + " is not that key (its id is "
                        + id + "): check that the right key was configured under that id");
            }
            byte[] known = raw.get(id);
            if (known != null) {
                if (!Arrays.equals(known, key)) {
                    throw new IllegalStateException(origin + ": two different keys share the id " + id
                            + " (" + origins.get(id) + "); generate a new key");
                }
                return id; // the same key twice (in the list and in a file): one key
            }
            raw.put(id, key.clone());
            keys.put(id, new SecretKeySpec(key, "AES"));
            origins.put(id, origin);
            return id;
        }

        /** A key generated now (embedded mode, first start), written only later by {@link Secrets#persist}. */
        String addPending(Secrets.PendingKey key, byte[] bytes) {
            String id = add(null, bytes, key.file().toString());
            pending = key;
            return id;
        }

        /**
         * @param activeSetting agentconfig.encryption.active-key: required when there is more than one key
         */
        public Keyring build(Optional<String> activeSetting) {
            if (keys.isEmpty()) {
                throw new IllegalStateException("no encryption key is configured: set agentconfig.encryption.key "
                        + "(AGENTCONFIG_ENCRYPTION_KEY) to the base64 of 32 random bytes, for example the output of "
                        + "`openssl rand -base64 32`");
            }
            String active;
            if (activeSetting.isPresent()) {
                Set<String> named = new LinkedHashSet<>();
                for (String part : activeSetting.get().split("[,\\s]+")) {
                    if (!part.isBlank()) {
                        named.add(part.trim().toLowerCase(java.util.Locale.ROOT));
                    }
                }
                if (named.size() != 1) {
                    throw new IllegalStateException("agentconfig.encryption.active-key names " + named.size()
                            + " keys (" + String.join(", ", named) + "): exactly one key is active (it seals every new "
                            + "value); the others stay in the keyring to open what they sealed");
                }
                active = named.iterator().next();
                if (!KEY_ID.matcher(active).matches()) {
                    throw new IllegalStateException("agentconfig.encryption.active-key is not a key id (8 hex "
                            + "characters, as the start-up log and GET /api/v1/admin/keys show them)");
                }
                if (!keys.containsKey(active)) {
                    throw new IllegalStateException("agentconfig.encryption.active-key names key " + active
                            + ", which is not in the keyring (keys: " + String.join(", ", keys.keySet()) + ")");
                }
            } else if (keys.size() == 1) {
                active = keys.keySet().iterator().next();
            } else {
                throw new IllegalStateException("the keyring holds " + keys.size() + " keys ("
                        + String.join(", ", keys.keySet()) + ") and agentconfig.encryption.active-key "
                        + "(AGENTCONFIG_ENCRYPTION_ACTIVE_KEY) does not say which one seals new values: set it to one "
                        + "of them");
            }
            return new Keyring(new LinkedHashMap<>(keys), new LinkedHashMap<>(origins), active, pending);
        }
    }
}
