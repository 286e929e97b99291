package dev.agentconfig.save;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

import dev.agentconfig.core.Field;
import dev.agentconfig.core.IdempotencyRecord;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.SaveCommand;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.transport.IdempotencyRecords;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Idempotency-Keys per user: a repeated request with a known key and the same content reuses the saveId and
 * version of the first, so replaying it changes nothing (the tables' per-field guard keeps what they hold); the
 * same key with other content is refused (409). Content is remembered only as a keyed fingerprint
 * ({@link FieldCipher#fingerprint}).
 *
 * <p>Where a key is known, asked in this order: the keys this instance assigned recently (memory, a cache
 * only), the user's local entry (a parked save keeps its key there, {@link PendingEntry#idempotencyKeys()}), the
 * database (table save_idempotency_keys, migration V6: {@link IdempotencyRecords}; a save's key is recorded with
 * it by the transport's {@code saveTransactions}). Kept for {@link IdempotencySettings#ttl()} from the key's
 * first use and at most {@link IdempotencySettings#perUser()} per user.
 *
 * <p>When the database cannot be asked (it is away) and the local store does not know the key, the save goes on
 * as a new one and may be parked with its key; before the sync replays that entry it records the entry's keys
 * ({@link #alreadyApplied}): a key the database holds for another save marks the parked one as a repeat of a
 * save already applied, and its fields are dropped from the entry, not replayed.
 */
public final class IdempotencyKeys {
    private static final Logger LOG = LoggerFactory.getLogger(IdempotencyKeys.class);
    private static final int CACHE_CAPACITY = 10_000;

    private final FieldCipher cipher;
    private final LocalStore store;
    private final IdempotencyRecords records;
    private final IdempotencySettings settings;
    private final Clock wall;
    private final BooleanSupplier databaseAway;
    private final Object[] stripes = new Object[64];
    /** user/key -> its record: what this instance assigned or looked up (a cache in front of the durable places). */
    private final Map<String, IdempotencyRecord> recent = new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, IdempotencyRecord> eldest) {
            if (size() > CACHE_CAPACITY) {
                bySaveId.remove(eldest.getValue().saveId());
                return true;
            }
            return false;
        }
    };
    /** saveId -> the scoped key that assigned it, to follow a save written again at a newer version. */
    private final Map<UUID, String> bySaveId = new HashMap<>();

    /**
     * @param records      the database's keys (null: none, memory and local store only)
     * @param databaseAway true while the database is known to be away (both targets' breakers open): not asked
     */
    public IdempotencyKeys(FieldCipher cipher, LocalStore store, IdempotencyRecords records,
                           IdempotencySettings settings, Clock wall, BooleanSupplier databaseAway) {
        this.cipher = cipher;
        this.store = store;
        this.records = records;
        this.settings = settings;
        this.wall = wall;
        this.databaseAway = databaseAway;
        for (int i = 0; i < stripes.length; i++) {
            stripes[i] = new Object();
        }
    }

    /** The saveId and version a save gets; fresh unless they are the remembered ones of a repeat. */
    public record Assigned(UUID saveId, long version, boolean fresh, IdempotencyRecord record) {
    }

    /**
     * The (saveId, version) to use: the remembered ones for a repeat, fresh ones otherwise.
     *
     * @param freshVersion the version of a new save (the clock's, or the sender's editedAt)
     * @throws IdempotencyConflict when the key was used for other content of this user
     */
    public Assigned assign(SaveCommand request, String key, LongSupplier freshVersion) {
        String scoped = request.user() + "/" + key;
        byte[] content = content(request);
        Instant now = wall.instant();
        Instant notBefore = settings.notBefore(now);
        synchronized (stripes[Math.floorMod(scoped.hashCode(), stripes.length)]) {
            IdempotencyRecord known = cached(scoped, notBefore);
            if (known == null) {
                known = parked(request.user(), key, notBefore).orElse(null);
            }
            boolean checked = true;
            if (known == null) {
                Lookup lookup = recorded(request.user(), key, notBefore);
                known = lookup.record();
                checked = lookup.checked();
            }
            if (known != null) {
                if (!matches(known, content)) {
                    throw new IdempotencyConflict("Idempotency-Key " + key
                            + " was already used for a different save of this user");
                }
                remember(scoped, known);
                return new Assigned(known.saveId(), known.version(), false, known);
            }
            IdempotencyRecord fresh = new IdempotencyRecord(key, cipher.fingerprint(content), UUID.randomUUID(),
                    freshVersion.getAsLong(), now);
            if (checked) {
                // not when the database could not be asked: a later retry must ask it (or the parked entry)
                remember(scoped, fresh);
            }
            return new Assigned(fresh.saveId(), fresh.version(), true, fresh);
        }
    }

    /**
     * The save was versioned again (a target held a version from a clock ahead): a repeat of the request must
     * carry the version that was written, or it would be answered stale by its own save. (The durable places
     * follow on their own: the record of the save's key moves to its newer version.)
     */
    public void reversioned(UUID saveId, long version) {
        synchronized (recent) {
            String scoped = bySaveId.get(saveId);
            IdempotencyRecord previous = scoped == null ? null : recent.get(scoped);
            if (previous != null && previous.saveId().equals(saveId)) {
                recent.put(scoped, new IdempotencyRecord(previous.key(), previous.fingerprint(), saveId, version,
                        previous.at()));
            }
        }
    }

    /**
     * Before the sync replays a local entry: its keys recorded in the database (the first save of a key keeps
     * it), and the saveIds of the entry's saves whose key the database holds for another save. Those were
     * repeats of saves already applied (parked while the database could not be asked): not to be replayed.
     *
     * @throws Exception when the database cannot record them (the entry is replayed as it is)
     */
    public Set<String> alreadyApplied(PendingEntry entry) throws Exception {
        Set<String> repeats = new HashSet<>();
        if (records == null || entry.idempotencyKeys().isEmpty()) {
            return repeats;
        }
        Instant notBefore = settings.notBefore(wall.instant());
        for (String key : entry.idempotencyKeys().keySet()) {
            IdempotencyRecord parked = entry.idempotencyRecord(key).orElseThrow();
            IdempotencyRecord held = records.record(entry.key(), parked, notBefore, settings.perUser());
            if (!held.saveId().equals(parked.saveId())) {
                LOG.info("Sync: the parked save {} of {} repeats save {} (Idempotency-Key {}), which the database "
                        + "already holds: its fields are not replayed", parked.saveId(), entry.key(), held.saveId(), key);
                repeats.add(parked.saveId().toString());
                remember(entry.key() + "/" + key, held);
            }
        }
        return repeats;
    }

    private IdempotencyRecord cached(String scoped, Instant notBefore) {
        synchronized (recent) {
            IdempotencyRecord r = recent.get(scoped);
            return r == null || r.at().isBefore(notBefore) ? null : r;
        }
    }

    private void remember(String scoped, IdempotencyRecord r) {
        synchronized (recent) {
            recent.put(scoped, r);
            bySaveId.put(r.saveId(), scoped);
        }
    }

    /** The key in the user's local entry (a parked save), read only when the user has one. */
    private Optional<IdempotencyRecord> parked(UserKey user, String key, Instant notBefore) {
        if (store.tenantOf(user.userId()).isEmpty()) {
            return Optional.empty();
        }
        return store.read(user).flatMap(e -> e.idempotencyRecord(key)).filter(r -> !r.at().isBefore(notBefore));
    }

    private record Lookup(IdempotencyRecord record, boolean checked) {
    }

    private Lookup recorded(UserKey user, String key, Instant notBefore) {
        if (records == null) {
            return new Lookup(null, true);
        }
        if (databaseAway.getAsBoolean()) {
            return new Lookup(null, false);
        }
        try {
            return new Lookup(records.find(user, key, notBefore).orElse(null), true);
        } catch (Exception e) {
            LOG.debug("Idempotency-Key {} of {}: the database cannot be asked ({}); a new save", key, user,
                    e.getMessage());
            return new Lookup(null, false);
        }
    }

    private boolean matches(IdempotencyRecord known, byte[] content) {
        try {
            return cipher.fingerprintMatches(known.fingerprint(), content);
        } catch (FieldCipher.EnvelopeException e) {
            throw new IdempotencyConflict("Idempotency-Key " + known.key() + " was used for a save that cannot be "
                    + "compared any more (" + e.getMessage() + ")");
        }
    }

    /** What a repeat must send again: each field present, with its value (the key in plaintext, only hashed). */
    private static byte[] content(SaveCommand request) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Field f : Field.values()) {
            if (request.changes().has(f)) {
                String v = request.changes().get(f);
                out.writeBytes((f.json() + "=" + (v == null ? "\u0000null" : v) + "\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        return out.toByteArray();
    }
}
