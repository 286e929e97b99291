package dev.agentconfig.read;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

import dev.agentconfig.core.Field;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.core.LastWriterWins;
import dev.agentconfig.core.ReplayBatch;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.core.VersionedValue;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.json.Json;
import dev.agentconfig.store.Disk;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last configuration the database was seen to hold for each user, kept on this server so that a read
 * while the database is out of reach still answers the user's values (marked {@code last_known}, with their
 * age) instead of {@code null}. One JSON file per user under {@code <data-dir>/last-known/<tenant>/<user>.json}
 * (mode 0600): each field's stored value and version; the key stays sealed (its envelope, or the seed's legacy
 * plaintext sealed with {@link FieldCipher} before it is written). Never the plaintext.
 *
 * <p>Fed with what the tables hold: every save or replay a table took ({@link #written}), and every read both
 * tables answered ({@link #confirm}). A file is written only when a value changed: a read costs no disk write.
 * The freshness of a copy ({@code asOf}: when the tables last confirmed it) is kept in memory and written with
 * the next change, so after a restart a copy looks as old as its last change, never younger.
 *
 * <p>Bounded: at most {@code agentconfig.read.last-known.max-users} users; the one confirmed longest ago is
 * dropped first. The copies are also held in memory (a few hundred bytes each).
 *
 * <p>It is one more location of the read's merge ({@link FieldMerge}, last in the tie order): it is only asked
 * when a table could not answer, so the per-field rule decides between it and the local store's pending values.
 */
public final class LastKnownCopies {
    private static final Logger LOG = LoggerFactory.getLogger(LastKnownCopies.class);
    private static final String SUFFIX = ".json";
    private static final String TEMP_SUFFIX = ".json.tmp";
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_DIR =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

    /** One user's copy as it is stored. */
    record Copy(String tenantId, String userId, String asOf, Map<String, Stored> fields) {
        Copy(UserKey key, Instant asOf, Map<String, Stored> fields) {
            this(key.tenantId(), key.userId().toString(), asOf.toString(), fields);
        }

        UserKey key() {
            return new UserKey(tenantId, UUID.fromString(userId));
        }
    }

    /** One field: the stored value (the key's envelope), its version, when it was written. */
    record Stored(String value, long version, String updatedAt) {
        boolean sameAs(Stored other) {
            return other != null && version == other.version && Objects.equals(value, other.value);
        }
    }

    private final Path root;
    private final FieldCipher cipher;
    private final KeyReader keys;
    private final int maxUsers;
    private final Disk disk = Disk.system();
    /** Tenants whose directory is known to exist. */
    private final Set<String> tenantDirs = ConcurrentHashMap.newKeySet();
    /** Every copy, the one confirmed longest ago first; guarded by this object's monitor (memory only, no I/O under it). */
    private final LinkedHashMap<UserKey, Copy> copies = new LinkedHashMap<>(16, 0.75f, true);
    /**
     * A user's file is written under the user's stripe, not under the monitor: the replay threads of a drain write
     * different users' copies at once. A user's change is decided and written under its stripe, so a user's file
     * follows the user's changes in order.
     */
    private final ReentrantLock[] stripes = new ReentrantLock[64];

    public LastKnownCopies(Path root, FieldCipher cipher, KeyReader keys, int maxUsers) {
        if (maxUsers < 1) {
            throw new IllegalStateException("agentconfig.read.last-known.max-users must be at least 1");
        }
        this.root = root;
        this.cipher = cipher;
        this.keys = keys;
        this.maxUsers = maxUsers;
        for (int i = 0; i < stripes.length; i++) {
            stripes[i] = new ReentrantLock();
        }
        load();
    }

    /** The user's copy as a location of the read, if this server has one. */
    public synchronized Optional<LocationReading> reading(UserKey key) {
        Copy copy = copies.get(key);
        if (copy == null) {
            return Optional.empty();
        }
        Map<Field, FieldValue> fields = new EnumMap<>(Field.class);
        copy.fields().forEach((name, s) -> Field.byJson(name).ifPresent(field -> fields.put(field,
                new FieldValue(field, s.value(), s.version(), s.updatedAt() == null ? null : Instant.parse(s.updatedAt()), Source.LAST_KNOWN, false,
                        field.secret() ? keys.unreadableReason(key.tenantId(), key.userId(), s.value(), false) : null))));
        return Optional.of(LocationReading.found(Source.LAST_KNOWN, fields, null, false, Instant.parse(copy.asOf())));
    }

    /**
     * Both tables answered a read: what they hold (the winner of each field among them) is the copy now. A
     * field no table holds any more is dropped from it.
     */
    public void confirm(UserKey key, Map<Field, FieldValue> tableWinners) {
        ReentrantLock lock = stripe(key);
        lock.lock();
        List<UserKey> dropped;
        try {
            Copy old;
            synchronized (this) {
                old = copies.get(key);
            }
            Map<String, Stored> fields = new LinkedHashMap<>();
            for (FieldValue v : tableWinners.values()) {
                Stored previous = old == null ? null : old.fields().get(v.field().json());
                fields.put(v.field().json(), stored(key, v, previous));
            }
            if (fields.isEmpty() && old == null) {
                return; // nothing known, nothing to forget
            }
            Instant now = Instant.now();
            if (old != null && sameFields(old.fields(), fields)) {
                synchronized (this) {
                    copies.put(key, new Copy(key, now, old.fields())); // fresher, not written
                }
                return;
            }
            dropped = put(key, new Copy(key, now, fields));
        } finally {
            lock.unlock();
        }
        drop(dropped);
    }

    /** A save or a replay: the fields of every target that took it are in the database now. */
    public void written(WriteResult result) {
        if (result == null || result.save() == null) {
            return;
        }
        boolean taken = false;
        for (Target t : Target.values()) {
            taken |= result.state(t) == TargetState.SAVED;
        }
        if (!taken) {
            return;
        }
        Map<String, Stored> fields = new LinkedHashMap<>();
        for (Map.Entry<Field, VersionedValue> e : result.save().fields().entrySet()) {
            VersionedValue v = e.getValue();
            fields.put(e.getKey().json(), new Stored(v.value(), v.version(),
                    HybridLogicalClock.instant(v.version()).toString()));
        }
        merge(result.save().user(), fields);
    }

    /** A replayed batch (jdbc): each entry as {@link #written}. */
    public void writtenBatch(ReplayBatch batch) {
        if (batch != null) {
            batch.entries().forEach(this::written);
        }
    }

    /** How many users this server keeps a copy of. */
    public synchronized int size() {
        return copies.size();
    }

    // ----- internals ---------------------------------------------------------------------------

    /**
     * Per field, the newer version replaces the copy's (the one rule, {@link LastWriterWins}); nothing is written
     * when the copy already holds those versions.
     */
    private void merge(UserKey key, Map<String, Stored> written) {
        ReentrantLock lock = stripe(key);
        lock.lock();
        List<UserKey> dropped;
        try {
            Copy old;
            synchronized (this) {
                old = copies.get(key);
            }
            Map<String, Stored> fields = old == null ? new LinkedHashMap<>() : new LinkedHashMap<>(old.fields());
            boolean changed = false;
            for (Map.Entry<String, Stored> e : written.entrySet()) {
                Stored held = fields.get(e.getKey());
                if (held == null || LastWriterWins.replaces(e.getValue().version(), held.version())) {
                    fields.put(e.getKey(), e.getValue());
                    changed = true;
                }
            }
            if (!changed) {
                return;
            }
            dropped = put(key, new Copy(key, Instant.now(), fields));
        } finally {
            lock.unlock();
        }
        drop(dropped);
    }

    private ReentrantLock stripe(UserKey key) {
        return stripes[Math.floorMod(key.hashCode(), stripes.length)];
    }

    /** The value as the copy keeps it: the seed's plaintext key sealed (the copy's own envelope kept if it opens to it). */
    private Stored stored(UserKey key, FieldValue v, Stored previous) {
        String value = v.value();
        if (v.legacyPlaintext() && value != null) {
            String ad = Field.RETELL_API_KEY.associatedData(key.tenantId(), key.userId());
            if (previous != null && previous.version() == v.version() && previous.value() != null
                    && value.equals(openOrNull(previous.value(), ad))) {
                value = previous.value();
            } else {
                value = cipher.seal(value, ad);
            }
        }
        return new Stored(value, v.version(), v.updatedAt() == null ? null : v.updatedAt().toString());
    }

    private String openOrNull(String envelope, String ad) {
        try {
            return cipher.open(envelope, ad);
        } catch (FieldCipher.EnvelopeException e) {
            return null;
        }
    }

    private static boolean sameFields(Map<String, Stored> a, Map<String, Stored> b) {
        if (!a.keySet().equals(b.keySet())) {
            return false;
        }
        for (Map.Entry<String, Stored> e : a.entrySet()) {
            if (!e.getValue().sameAs(b.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Under the user's stripe: the copy written to its file, then held in memory.
     *
     * @return the users dropped to stay within the bound, whose files {@link #drop} removes (after the stripe is released)
     */
    private List<UserKey> put(UserKey key, Copy copy) {
        try {
            write(key, copy);
        } catch (IOException | UncheckedIOException e) {
            // a copy is a convenience for outages: a disk problem must not fail the read or the save
            LOG.warn("Last-known copy of {} not written: {}", key, e.toString());
            return List.of();
        }
        List<UserKey> dropped = List.of();
        synchronized (this) {
            copies.put(key, copy);
            Iterator<Map.Entry<UserKey, Copy>> eldest = copies.entrySet().iterator();
            while (copies.size() > maxUsers && eldest.hasNext()) {
                if (dropped.isEmpty()) {
                    dropped = new ArrayList<>();
                }
                dropped.add(eldest.next().getKey());
                eldest.remove();
            }
        }
        return dropped;
    }

    /** The files of users dropped from memory removed, each under its stripe, unless the user came back meanwhile. */
    private void drop(List<UserKey> dropped) {
        for (UserKey user : dropped) {
            ReentrantLock lock = stripe(user);
            lock.lock();
            try {
                synchronized (this) {
                    if (copies.containsKey(user)) {
                        continue;
                    }
                }
                Files.deleteIfExists(file(user));
            } catch (IOException e) {
                LOG.warn("Last-known copy of {} not dropped: {}", user, e.toString());
            } finally {
                lock.unlock();
            }
        }
    }

    private void write(UserKey key, Copy copy) throws IOException {
        Path file = file(key);
        // a tenant's directory is looked for once (a stat per save less), made when missing
        if (!tenantDirs.contains(key.tenantId())) {
            if (!Files.isDirectory(file.getParent())) {
                // 0700 like the local store: the copies name users (the key inside is sealed)
                Files.createDirectories(root, PRIVATE_DIR);
                Files.createDirectories(file.getParent(), PRIVATE_DIR);
            }
            tenantDirs.add(key.tenantId());
        }
        Path temp = file.resolveSibling("." + key.userId() + TEMP_SUFFIX);
        disk.write(temp, Json.writeBytes(copy));
        disk.move(temp, file);
    }

    private Path file(UserKey key) {
        return root.resolve(key.tenantId()).resolve(key.userId() + SUFFIX);
    }

    /** Every copy on disk, the oldest written first; beyond the cap, the oldest are dropped. */
    private void load() {
        if (!Files.isDirectory(root)) {
            return;
        }
        List<Path> files = new ArrayList<>();
        try (Stream<Path> all = Files.walk(root, 2)) {
            all.filter(p -> p.getFileName().toString().endsWith(SUFFIX) && !p.getFileName().toString().startsWith("."))
                    .forEach(files::add);
        } catch (IOException e) {
            throw new UncheckedIOException("the last-known copies under " + root + " cannot be listed", e);
        }
        files.sort((a, b) -> modified(a).compareTo(modified(b)));
        for (Path f : files) {
            try {
                Copy copy = Json.MAPPER.readValue(Files.readAllBytes(f), Copy.class);
                UserKey key = copy.key();
                if (!f.equals(file(key))) {
                    continue; // not where this copy belongs: not ours
                }
                copies.put(key, copy);
            } catch (IOException | RuntimeException e) {
                LOG.warn("Last-known copy {} ignored (unreadable: {})", f.getFileName(), e.toString());
            }
        }
        Iterator<UserKey> eldest = copies.keySet().iterator();
        while (copies.size() > maxUsers && eldest.hasNext()) {
            UserKey dropped = eldest.next();
            eldest.remove();
            try {
                Files.deleteIfExists(file(dropped));
            } catch (IOException e) {
                LOG.warn("Last-known copy of {} not dropped: {}", dropped, e.toString());
            }
        }
        if (!copies.isEmpty()) {
            LOG.info("Last-known copies: {} users (at most {})", copies.size(), maxUsers);
        }
    }

    private static FileTime modified(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }
}
