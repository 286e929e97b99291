package dev.agentconfig.rotation;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

import dev.agentconfig.crypto.Keyring;
import dev.agentconfig.observe.CheckResult;

/**
 * Health check {@code keys}, from the last count (no query per probe): the active key, the values each
 * key seals, which old keys are still used (rotate) and which are no longer used anywhere (they can be
 * retired), legacy plaintext keys, and the rotation's progress. An old key still in use is no failure:
 * the check stays UP. It is DOWN only when stored values need a key this service does not have (they read
 * as undecryptable). Health is open: key ids and counts only, no exception text.
 */
public final class KeysHealth implements Supplier<CheckResult> {
    private final Keyring keyring;
    private final KeyUsage usage;
    private final KeyRotation rotation;

    public KeysHealth(Keyring keyring, KeyUsage usage, KeyRotation rotation) {
        this.keyring = keyring;
        this.usage = usage;
        this.rotation = rotation;
    }

    @Override
    public CheckResult get() {
        KeyCensus census = usage.last();
        RotationStatus status = rotation.status();
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("activeKeyId", keyring.activeKeyId());
        if (census == null) {
            data.put("rotation", status.toMap());
            return CheckResult.up("keys", "active key " + keyring.activeKeyId() + "; not counted yet", data);
        }
        Map<String, Object> keys = new LinkedHashMap<>();
        Set<String> ids = new TreeSet<>(keyring.keyIds());
        ids.addAll(census.keyIdsInUse());
        List<String> stillUsed = new ArrayList<>();
        List<String> retirable = new ArrayList<>();
        for (String id : ids) {
            Map<String, Object> k = new LinkedHashMap<>();
            k.put("active", id.equals(keyring.activeKeyId()));
            k.put("inKeyring", keyring.contains(id));
            k.put("values", census.values(id));
            boolean free = census.values(id) == 0 && census.databaseCounted();
            k.put("retirable", !id.equals(keyring.activeKeyId()) && free);
            keys.put(id, k);
            if (!id.equals(keyring.activeKeyId())) {
                if (census.values(id) > 0) {
                    stillUsed.add(id + " (" + census.values(id) + " values)");
                } else if (free && keyring.contains(id)) {
                    retirable.add(id);
                }
            }
        }
        data.put("keys", keys);
        data.put("legacyPlaintext", census.legacyPlaintext());
        data.put("countedAt", census.countedAt().toString());
        data.put("rotation", status.toMap());
        StringBuilder detail = new StringBuilder("active key ").append(keyring.activeKeyId());
        Set<String> missing = census.missingFrom(keyring);
        if (!census.databaseCounted()) {
            detail.append("; the tables could not be counted (see the service log)");
        }
        if (!stillUsed.isEmpty()) {
            detail.append("; old key(s) still used: ").append(String.join(", ", stillUsed))
                    .append(status.running() ? " (rotation running)" : ": rotate (POST /api/v1/admin/keys/rotate)");
        } else if (missing.isEmpty() && census.databaseCounted()) {
            detail.append("; every value is sealed with it");
        }
        if (!retirable.isEmpty()) {
            detail.append("; no longer used anywhere, can be removed from the keyring: ")
                    .append(String.join(", ", retirable));
        }
        if (census.legacyPlaintext() > 0) {
            detail.append("; ").append(census.legacyPlaintext())
                    .append(" legacy plaintext key(s) in user_settings.retell_config: rotate to seal them");
        }
        if (!missing.isEmpty()) {
            return CheckResult.down("keys", detail + "; values sealed with key(s) not in this keyring read as "
                    + "undecryptable: " + census.describe(missing), data);
        }
        return CheckResult.up("keys", detail.toString(), data);
    }
}
