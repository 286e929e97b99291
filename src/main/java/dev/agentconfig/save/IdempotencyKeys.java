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

import dev.agentconfig.api.Problem;

/**
 * Remembers recent Idempotency-Keys (in memory, bounded): a repeated request with the same key
 * and the same content reuses the saveId and version of the first, so replaying it changes
 * nothing; the same key with other content is refused. Content is remembered only as an HMAC.
 */
public final class IdempotencyKeys {
    private record Seen(byte[] fingerprint, UUID saveId, long version) {
    }

    private final Map<String, Seen> seen;
    private final byte[] macKey = new byte[32];

    public IdempotencyKeys(int capacity) {
        new SecureRandom().nextBytes(macKey);
        this.seen = new LinkedHashMap<>(capacity, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Seen> eldest) {
                return size() > capacity;
            }
        };
    }

    /** The saveId and version a save gets; fresh unless they are the remembered ones of a repeat. */
    public record Assigned(UUID saveId, long version, boolean fresh) {
    }

    /** The (saveId, version) to use: remembered ones for a replay, fresh ones otherwise. */
    public synchronized Assigned assign(SaveRequest request, String key, VersionClock clock) {
        String scoped = request.tenantId() + "/" + request.userId() + "/" + key;
        byte[] fp = fingerprint(request);
        Seen previous = seen.get(scoped);
        if (previous != null) {
            if (!Arrays.equals(previous.fingerprint(), fp)) {
                throw Problem.idempotencyConflict("Idempotency-Key " + key
                        + " was already used for a different save of this user");
            }
            return new Assigned(previous.saveId(), previous.version(), false);
        }
        UUID saveId = UUID.randomUUID();
        long version = clock.next();
        seen.put(scoped, new Seen(fp, saveId, version));
        return new Assigned(saveId, version, true);
    }

    /**
     * The save was versioned again (a target held a version from a clock ahead): a repeat of the
     * request must carry the version that was written, or it would be answered stale by its own save.
     */
    public synchronized void reversioned(String tenantId, UUID userId, String key, UUID saveId, long version) {
        String scoped = tenantId + "/" + userId + "/" + key;
        Seen previous = seen.get(scoped);
        if (previous != null && previous.saveId().equals(saveId)) {
            seen.put(scoped, new Seen(previous.fingerprint(), saveId, version));
        }
    }

    private byte[] fingerprint(SaveRequest request) {
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
