package dev.agentconfig.core;

import java.time.Instant;
import java.util.UUID;

/**
 * What an Idempotency-Key of a user stands for: the content of its first save (as a keyed fingerprint, never
 * the content itself), the saveId and version that save was given, and when the key was first used (it is
 * kept for {@code agentconfig.save.idempotency-ttl} from then). Remembered durably: in the database with the
 * save (migration V6, table {@code save_idempotency_keys}) and, while the save is parked, in its local entry
 * ({@link PendingEntry#idempotencyKeys()}).
 *
 * @param fingerprint {@code <keyId>:<HMAC>} of the save's content (crypto/FieldCipher#fingerprint)
 */
public record IdempotencyRecord(String key, String fingerprint, UUID saveId, long version, Instant at) {

    /** The same key and content, for the save as it was written in the end (a reversion moves its version). */
    public IdempotencyRecord of(SealedSave save) {
        return new IdempotencyRecord(key, fingerprint, save.saveId(), save.version(), at);
    }

    @Override
    public String toString() {
        return "IdempotencyRecord[" + key + " " + saveId + " v" + version + "]";
    }
}
