package dev.agentconfig.save;

import dev.agentconfig.core.Field;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.core.SaveCommand;

/**
 * Remembers recent Idempotency-Keys (in memory, bounded): a repeated request with the same key
 * and the same content reuses the saveId and version of the first, so replaying it changes
 * nothing; the same key with other content is refused. Content is remembered only as an HMAC.
 */
public final class IdempotencyKeys {
    private record Seen(byte[] fingerprint, UUID saveId, long version) {
    }

    private final Map<String, Seen> seen;
    /** saveId -> the scoped key that assigned it, to follow a save written again at a newer version. */
    private final Map<UUID, String> bySaveId = new java.util.HashMap<>();
    private final byte[] macKey = new byte[32];

    public IdempotencyKeys(int capacity) {
        new SecureRandom().nextBytes(macKey);
        this.seen = new LinkedHashMap<>(capacity, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Seen> eldest) {
                if (size() > capacity) {
                    bySaveId.remove(eldest.getValue().saveId());
                    return true;
                }
                return false;
            }
        };
    }

    /** The saveId and version a save gets; fresh unless they are the remembered ones of a repeat. */
    public record Assigned(UUID saveId, long version, boolean fresh) {
    }

    /** The (saveId, version) to use: remembered ones for a replay, fresh ones otherwise. */
    public synchronized Assigned assign(SaveCommand request, String key, HybridLogicalClock clock) {
        String scoped = request.user() + "/" + key;
        byte[] fp = fingerprint(request);
        Seen previous = seen.get(scoped);
        if (previous != null) {
            if (!Arrays.equals(previous.fingerprint(), fp)) {
                throw new IdempotencyConflict("Idempotency-Key " + key
                        + " was already used for a different save of this user");
            }
            return new Assigned(previous.saveId(), previous.version(), false);
        }
        UUID saveId = UUID.randomUUID();
        long version = clock.next();
        seen.put(scoped, new Seen(fp, saveId, version));
        bySaveId.put(saveId, scoped);
        return new Assigned(saveId, version, true);
    }

    /**
     * The save was versioned again (a target held a version from a clock ahead): a repeat of the
     * request must carry the version that was written, or it would be answered stale by its own save.
     */
    public synchronized void reversioned(UUID saveId, long version) {
        String scoped = bySaveId.get(saveId);
        Seen previous = scoped == null ? null : seen.get(scoped);
        if (previous != null && previous.saveId().equals(saveId)) {
            seen.put(scoped, new Seen(previous.fingerprint(), saveId, version));
        }
    }

    private byte[] fingerprint(SaveCommand request) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(macKey, "HmacSHA256"));
            for (Field f : Field.values()) {
                if (request.changes().has(f)) {
                    String v = request.changes().get(f);
                    mac.update((f.json() + "=" + (v == null ? "\u0000null" : v) + "\n").getBytes(StandardCharsets.UTF_8));
                }
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
