package dev.agentconfig.rotation;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import dev.agentconfig.crypto.Keyring;

/**
 * How many stored values each key seals, by location, at one moment: what retirement, health, the
 * metrics and the start-up check go by. Key ids only, never a value.
 *
 * @param profiles        user_profiles values per key id (null: the database could not be counted)
 * @param settings        user_settings values per key id (null: the database could not be counted)
 * @param localStore      local-store entries per key id
 * @param legacyPlaintext user_settings rows that still hold the seed's plaintext key
 * @param foreign         key values that are no envelope of this service (the seed's browser-encrypted)
 * @param databaseError   why the database could not be counted, or null
 */
public record KeyCensus(Instant countedAt, Map<String, Long> profiles, Map<String, Long> settings,
                        Map<String, Long> localStore, long legacyPlaintext, long foreign, String databaseError) {

    public static final String USER_PROFILES = "user_profiles";
    public static final String USER_SETTINGS = "user_settings";
    public static final String LOCAL_STORE = "local_store";

    public boolean databaseCounted() {
        return databaseError == null;
    }

    /** Every key id some value is sealed with. */
    public Set<String> keyIdsInUse() {
        Set<String> ids = new TreeSet<>(localStore.keySet());
        if (profiles != null) {
            ids.addAll(profiles.keySet());
        }
        if (settings != null) {
            ids.addAll(settings.keySet());
        }
        ids.removeIf(id -> values(id) == 0);
        return ids;
    }

    /** Values sealed with {@code keyId}, by location. */
    public Map<String, Long> byLocation(String keyId) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put(USER_PROFILES, profiles == null ? 0 : profiles.getOrDefault(keyId, 0L));
        m.put(USER_SETTINGS, settings == null ? 0 : settings.getOrDefault(keyId, 0L));
        m.put(LOCAL_STORE, localStore.getOrDefault(keyId, 0L));
        return m;
    }

    public long values(String keyId) {
        return byLocation(keyId).values().stream().mapToLong(Long::longValue).sum();
    }

    /** Every sealed value (of this service), whatever its key. */
    public long sealedValues() {
        return keyIdsInUse().stream().mapToLong(this::values).sum();
    }

    /** What a rotation to {@code activeKeyId} has to do: values under other keys, and legacy plaintext keys. */
    public long toReseal(String activeKeyId) {
        return keyIdsInUse().stream().filter(id -> !id.equals(activeKeyId)).mapToLong(this::values).sum()
                + legacyPlaintext;
    }

    /** The key ids stored values need that the keyring does not hold. */
    public Set<String> missingFrom(Keyring keyring) {
        Set<String> missing = new TreeSet<>(keyIdsInUse());
        missing.removeAll(keyring.keyIds());
        return missing;
    }

    /** {@code 1a2b3c4d (user_profiles 3, user_settings 3, local store 1)} for each of {@code keyIds}. */
    public String describe(Set<String> keyIds) {
        if (keyIds.isEmpty()) {
            return "none";
        }
        StringBuilder sb = new StringBuilder();
        for (String id : keyIds) {
            if (sb.length() > 0) {
                sb.append("; ");
            }
            Map<String, Long> at = byLocation(id);
            sb.append(id).append(" (").append(USER_PROFILES).append(' ').append(at.get(USER_PROFILES))
                    .append(", ").append(USER_SETTINGS).append(' ').append(at.get(USER_SETTINGS))
                    .append(", local store ").append(at.get(LOCAL_STORE)).append(')');
        }
        return sb.toString();
    }

    /** Per key id of the keyring and in use: values by location, whether active, whether it can be retired. */
    public Map<String, Object> toMap(Keyring keyring) {
        Map<String, Object> keys = new LinkedHashMap<>();
        Set<String> ids = new TreeSet<>(keyring.keyIds());
        ids.addAll(keyIdsInUse());
        for (String id : ids) {
            Map<String, Object> k = new LinkedHashMap<>();
            k.put("active", id.equals(keyring.activeKeyId()));
            k.put("inKeyring", keyring.contains(id));
            k.put("values", byLocation(id));
            k.put("total", values(id));
            // retire a key only when nothing uses it, and only when the database could be counted
            k.put("retirable", !id.equals(keyring.activeKeyId()) && values(id) == 0 && databaseCounted());
            keys.put(id, k);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("activeKeyId", keyring.activeKeyId());
        m.put("keys", keys);
        m.put("legacyPlaintext", legacyPlaintext);
        m.put("foreignValues", foreign);
        m.put("countedAt", countedAt.toString());
        if (databaseError != null) {
            m.put("databaseError", databaseError);
        }
        return m;
    }

    static Map<String, Long> copy(Map<String, Long> m) {
        return m == null ? null : new TreeMap<>(m);
    }
}
