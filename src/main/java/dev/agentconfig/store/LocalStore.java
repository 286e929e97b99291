package dev.agentconfig.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

import com.fasterxml.jackson.databind.ObjectReader;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.json.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's "localStorage": one JSON document per (tenant, user) under
 * {@code <data-dir>/local-store/<tenant>/<user>.json}. It stores and loads pending entries and
 * knows nothing of HTTP or of the save that parks them; a failure to write is its own
 * {@link LocalStoreUnavailable}.
 *
 * <p>Every change of an entry happens under that entry's lock, inside one method ({@link #park},
 * {@link #update}): read, decide, write. A write is durable before the method returns: the bytes go
 * to {@code .<user>.json.tmp} beside the entry, the temp file is forced, renamed over the entry
 * (atomic on one filesystem: a reader sees the old or the new entry, never a mix), and the directory
 * is forced (and the store's root when a tenant directory is new).
 */
public final class LocalStore {
    private static final Logger LOG = LoggerFactory.getLogger(LocalStore.class);
    private static final String ENTRY_SUFFIX = ".json";
    private static final String TEMP_SUFFIX = ".json.tmp";
    /** An entry's JSON straight into the typed record (no tree), the reader made once. */
    private static final ObjectReader ENTRY_READER = Json.MAPPER.readerFor(PendingEntry.class);

    private final Path root;
    private final Disk disk;
    private final ReentrantLock[] stripes = new ReentrantLock[256];
    /**
     * user -> tenant of every pending entry on disk, to refuse a save under a second tenant. A quarantined
     * entry is not in it: what the database refused must never make the user's later saves fail.
     */
    private final Map<UUID, String> tenantOfUser = new ConcurrentHashMap<>();
    /** user -> tenant a table took a write under (this instance, since it started), bounded. */
    private final Map<UUID, String> tenantInTables;
    /** Where an abandoned entry is kept ({@code <data-dir>/local-store-abandoned/<tenant>/}). */
    private final Path abandonedRoot;
    private final Map<Path, Boolean> syncedDirs = new ConcurrentHashMap<>();
    /** Group commit of directory fsyncs: one fsync covers every rename that finished before it started. */
    private final Map<Path, DirectorySync> directorySyncs = new ConcurrentHashMap<>();

    private static final class DirectorySync {
        final java.util.concurrent.atomic.AtomicLong renamed = new java.util.concurrent.atomic.AtomicLong();
        long synced;
    }
    /**
     * What each entry on disk waits for (state, age, next attempt), kept in memory so that the sync
     * finds due entries and health counts them without reading every file. Updated by every write,
     * every removal, and the start-up scan.
     */
    private final Map<UserKey, Status> index = new ConcurrentHashMap<>();
    /** How many of the index's entries are pending: kept beside it (a gauge, a health check or a drain's
     * watcher asks often; counting 10,000 entries each time cost the drain a quarter of its CPU samples). */
    private final AtomicLong pendingEntries = new AtomicLong();
    private long newestVersion;
    /** Every write of an entry by this store gets the next stamp ({@link Status#stamp}): unique, never reused. */
    private final AtomicLong stamps = new AtomicLong();
    /**
     * Entries as {@link #load} read them (parsed), for the next {@link #update} of the same entry to reuse instead
     * of reading and parsing the file again, while the entry has not changed since (same stamp, same file). At most
     * {@code loadedMax} (agentconfig.local-store.loaded-entries); full, it is emptied (a re-read only costs time).
     */
    private final Map<UserKey, Loaded> loaded = new ConcurrentHashMap<>();
    private final int loadedMax;

    /**
     * An entry as read by {@link #load}: the stamp the index held before the file was read and the file's
     * identity (inode, modification time, size) taken before it was read too. A write by this store changes the
     * stamp; a change by anything else changes the file's identity.
     */
    private record Loaded(PendingEntry entry, long stamp, Object fileKey, FileTime modified, long size) {
        boolean sameFile(BasicFileAttributes a) {
            return a.fileKey() != null && a.fileKey().equals(fileKey) && a.lastModifiedTime().equals(modified)
                    && a.size() == size;
        }
    }

    /**
     * The indexed part of an entry; {@code keyId}: the key its API key is sealed with, or null; {@code stamp}:
     * which write of this store (or the start-up scan) put the entry on disk as it is.
     */
    public record Status(String state, Instant createdAt, Instant nextAttemptAt, String keyId, long stamp) {
        static Status of(PendingEntry e, long stamp) {
            PendingEntry.FieldEntry key = e.fields().get(Field.RETELL_API_KEY.json());
            return new Status(e.state(), e.created(), e.nextAttempt(),
                    key == null ? null : FieldCipher.keyIdOf(key.value()).orElse(null), stamp);
        }

        public boolean pending() {
            return PendingEntry.PENDING.equals(state);
        }
    }

    /** The default bound of the tenants learned from the tables (agentconfig.local-store.known-tenants). */
    public static final int KNOWN_TENANTS = 100_000;

    /** The default bound of the entries read for a replay and kept parsed until settled (agentconfig.local-store.loaded-entries). */
    public static final int LOADED_ENTRIES = 4096;

    public LocalStore(Path root) {
        this(root, Disk.system());
    }

    public LocalStore(Path root, Disk disk) {
        this(root, disk, KNOWN_TENANTS);
    }

    /** @param knownTenants how many users' tenants learned from the tables are remembered (the oldest go first) */
    public LocalStore(Path root, Disk disk, int knownTenants) {
        this(root, disk, knownTenants, LOADED_ENTRIES);
    }

    /**
     * @param knownTenants  how many users' tenants learned from the tables are remembered (the oldest go first)
     * @param loadedEntries how many entries read for a replay ({@link #load}) are kept parsed until settled (0: none)
     */
    public LocalStore(Path root, Disk disk, int knownTenants, int loadedEntries) {
        this.root = root;
        this.loadedMax = loadedEntries;
        this.disk = disk;
        this.abandonedRoot = root.resolveSibling(root.getFileName() + "-abandoned");
        this.tenantInTables = Collections.synchronizedMap(new LinkedHashMap<>(1024, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<UUID, String> eldest) {
                return size() > knownTenants;
            }
        });
        for (int i = 0; i < stripes.length; i++) {
            stripes[i] = new ReentrantLock();
        }
        try {
            Files.createDirectories(root);
            Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx------"));
        } catch (IOException e) {
            LOG.error("The local store directory {} cannot be prepared: {}", root, e.toString());
        }
        removeStaleTempFiles();
        for (PendingEntry e : list()) {
            remember(e);
            newestVersion = Math.max(newestVersion, e.fields().values().stream()
                    .mapToLong(PendingEntry.FieldEntry::version).max().orElse(0));
        }
    }

    public Path root() {
        return root;
    }

    /** The newest field version held by an entry when the store started (0 when none). */
    public long newestVersionAtStart() {
        return newestVersion;
    }

    // ----- reading ------------------------------------------------------------------------------

    /** The entry of a user, read as it is (a write is a rename: the file read is whole). */
    public Optional<PendingEntry> read(UserKey key) {
        return read(file(key));
    }

    /**
     * The entry of a user read as {@link #read} does, to be changed soon by {@link #update} (a replay's load before
     * its settle): kept parsed, so that the update reuses it instead of reading the file again when the entry has
     * not changed since; any change meanwhile (a save merged in, a removal, the file touched by anything else) and
     * the update reads the file as always.
     */
    public Optional<PendingEntry> load(UserKey key) {
        Path f = file(key);
        Status status = index.get(key); // the stamp first, then the file: a write in between changes the stamp
        BasicFileAttributes attrs = null;
        if (status != null && loadedMax > 0) {
            try {
                attrs = Files.readAttributes(f, BasicFileAttributes.class);
            } catch (IOException e) {
                attrs = null; // gone, or not readable: read says which
            }
        }
        Optional<PendingEntry> entry = read(f);
        if (attrs != null && entry.isPresent()) {
            if (loaded.size() >= loadedMax) {
                loaded.clear();
            }
            loaded.put(key, new Loaded(entry.get(), status.stamp(), attrs.fileKey(), attrs.lastModifiedTime(),
                    attrs.size()));
        } else {
            loaded.remove(key);
        }
        return entry;
    }

    /** Under the entry's lock: what {@link #load} kept of it, if the entry is still exactly that; else read again. */
    private Optional<PendingEntry> current(UserKey key) {
        Loaded kept = loaded.remove(key);
        if (kept != null) {
            Status status = index.get(key);
            if (status != null && status.stamp() == kept.stamp()) {
                try {
                    if (kept.sameFile(Files.readAttributes(file(key), BasicFileAttributes.class))) {
                        return Optional.of(kept.entry());
                    }
                } catch (IOException e) {
                    // gone or not readable: read says which
                }
            }
        }
        return read(key);
    }

    /** Every entry on disk (pending and quarantined). */
    public List<PendingEntry> list() {
        List<PendingEntry> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> tenants = Files.newDirectoryStream(root, Files::isDirectory)) {
            for (Path tenantDir : tenants) {
                // <user>.json only: never a temp file (.<user>.json.tmp) or a file moved aside
                try (DirectoryStream<Path> files = Files.newDirectoryStream(tenantDir, LocalStore::isEntryFile)) {
                    for (Path f : files) {
                        read(f).ifPresent(out::add);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the local store " + root, e);
        }
        return out;
    }

    /** The tenant a user has a pending entry under, if any (a quarantined entry does not count). */
    public Optional<String> tenantOf(UUID userId) {
        return Optional.ofNullable(tenantOfUser.get(userId));
    }

    /**
     * The tenant a save of this user must carry, when this instance knows it: the tenant a table took a
     * write of the user under (learned by {@link #tablesHold}), else the tenant of the user's pending
     * entry. A quarantined or abandoned entry never counts.
     */
    public Optional<String> knownTenant(UUID userId) {
        String learned = tenantInTables.get(userId);
        return learned != null ? Optional.of(learned) : tenantOf(userId);
    }

    /** A table took a write of this user under its tenant (saved, or holding a newer version). */
    public void tablesHold(UserKey user) {
        tenantInTables.put(user.userId(), user.tenantId());
    }

    /** Where {@link StoreChange.Abandon} keeps an entry set aside at {@code at}. */
    public Path abandonedFile(UserKey key, Instant at) {
        return abandonedRoot.resolve(key.tenantId()).resolve(key.userId() + "." + at.toEpochMilli() + ENTRY_SUFFIX);
    }

    // ----- changing -----------------------------------------------------------------------------

    /**
     * Parks a save for the targets that could not take it: merged per field into the user's entry
     * (one durable write, whatever number of targets failed).
     *
     * @return the entry as it is now on disk
     * @throws LocalStoreUnavailable when it cannot be made durable
     */
    public PendingEntry park(SealedSave save, Map<Target, Failure> failed) {
        return park(save, failed, null);
    }

    /** As {@link #park(SealedSave, Map)}, the entry keeping the parking request's W3C traceparent (null: none). */
    public PendingEntry park(SealedSave save, Map<Target, Failure> failed, String traceparent) {
        return update(save.user(), current -> {
            PendingEntry merged = PendingEntry.merge(current.orElse(null), save, failed, Instant.now(), traceparent);
            return new StoreChange.Write<>(merged, merged);
        });
    }

    /**
     * Reads the user's entry under its lock, lets {@code decide} say what becomes of it, and does it
     * (durably) before the lock is released.
     *
     * @throws LocalStoreUnavailable when a write cannot be made durable
     */
    public <R> R update(UserKey key, Function<Optional<PendingEntry>, StoreChange<R>> decide) {
        ReentrantLock lock = stripe(key);
        lock.lock();
        try {
            Optional<PendingEntry> current;
            try {
                current = current(key);
            } catch (UncheckedIOException e) {
                LOG.error("The local store cannot be read ({}): {}", key, rootMessage(e));
                throw new LocalStoreUnavailable("the local store cannot be read", e);
            }
            if (current.isEmpty()) {
                forget(key);
            }
            StoreChange<R> change = decide.apply(current);
            if (change instanceof StoreChange.Write<R> w) {
                write(w.entry());
            } else if (change instanceof StoreChange.Remove<R> r) {
                if (current.isPresent() && current.get().revision() != r.revision()) {
                    return r.ifChanged();
                }
                remove(key);
            } else if (change instanceof StoreChange.Abandon<R> a && current.isPresent()) {
                abandon(key, a.at());
            }
            return change.result();
        } finally {
            lock.unlock();
        }
    }

    private void write(PendingEntry entry) {
        UserKey key = entry.key();
        Path target = file(key);
        Path dir = target.getParent();
        Path temp = dir.resolve("." + key.userId() + TEMP_SUFFIX);
        try {
            boolean newDir = !Files.isDirectory(dir);
            if (newDir) {
                Files.createDirectories(dir);
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            }
            disk.write(temp, Json.writeBytes(entry));
            disk.force(temp);
            disk.move(temp, target);
            forceDirectoryAfterRename(dir);
            if (newDir || syncedDirs.putIfAbsent(dir, Boolean.TRUE) == null) {
                disk.forceDirectory(root); // a tenant directory's own name must be durable too
                syncedDirs.put(dir, Boolean.TRUE);
            }
        } catch (IOException | RuntimeException e) {
            LOG.error("The local store cannot be written ({}): {}", key, rootMessage(e));
            throw new LocalStoreUnavailable("the local store cannot be written", e);
        }
        remember(entry);
    }

    /**
     * The directory's fsync, shared by concurrent writers: each rename takes a ticket; whoever gets the
     * directory's lock first fsyncs once for every rename done by then; a writer whose rename an fsync
     * already covered returns without one of its own. Returns when this writer's rename is durable.
     */
    private void forceDirectoryAfterRename(Path dir) throws IOException {
        DirectorySync d = directorySyncs.computeIfAbsent(dir, x -> new DirectorySync());
        long ticket = d.renamed.incrementAndGet();
        synchronized (d) {
            if (d.synced >= ticket) {
                return;
            }
            long upTo = d.renamed.get();
            disk.forceDirectory(dir);
            d.synced = upTo;
        }
    }

    private void remove(UserKey key) {
        Path f = file(key);
        try {
            // No fsync of the directory: if a crash brings the file back, the next pass replays it
            // again, which the database's per-field guard makes a no-op. Durability is needed for what
            // is written (an acknowledged save), not for what is forgotten.
            Files.deleteIfExists(f);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove local store entry " + f, e);
        }
        forget(key);
    }

    /**
     * The entry moved (renamed, not copied) to {@link #abandonedFile}, out of the store: never replayed,
     * read or counted again, and kept for an operator. Both directories are forced.
     */
    private void abandon(UserKey key, Instant at) {
        Path from = file(key);
        Path to = abandonedFile(key, at);
        try {
            for (Path dir : new Path[] {abandonedRoot, to.getParent()}) {
                if (!Files.isDirectory(dir)) {
                    Files.createDirectories(dir);
                    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
                }
            }
            disk.move(from, to);
            disk.forceDirectory(to.getParent());
            disk.forceDirectory(from.getParent());
        } catch (IOException | RuntimeException e) {
            LOG.error("The local store entry {} cannot be set aside: {}", key, rootMessage(e));
            throw new LocalStoreUnavailable("the local store entry cannot be set aside", e);
        }
        forget(key);
    }

    // ----- the in-memory index: due entries and counts, without reading files ---------------------

    /** Pending entries whose next attempt is due at {@code now}, the longest-waiting first. */
    public List<UserKey> dueKeys(Instant now) {
        return index.entrySet().stream()
                .filter(e -> e.getValue().pending() && !e.getValue().nextAttemptAt().isAfter(now))
                .sorted(Comparator.comparing((Map.Entry<UserKey, Status> e) -> e.getValue().nextAttemptAt())
                        .thenComparing(e -> e.getValue().createdAt()))
                .map(Map.Entry::getKey)
                .toList();
    }

    public long pendingCount() {
        return pendingEntries.get();
    }

    public long quarantinedCount() {
        return index.values().stream().filter(s -> PendingEntry.QUARANTINED.equals(s.state())).count();
    }

    /** When the oldest quarantined entry was first parked, if any entry is quarantined. */
    public Optional<Instant> oldestQuarantined() {
        return index.values().stream().filter(st -> PendingEntry.QUARANTINED.equals(st.state())).map(Status::createdAt)
                .min(Instant::compareTo);
    }

    /** When the oldest pending entry was first parked, if any entry is pending. */
    public Optional<Instant> oldestPending() {
        return index.values().stream().filter(Status::pending).map(Status::createdAt).min(Instant::compareTo);
    }

    /** How many entries hold an API key sealed with each key id (from the index: no file is read). */
    public Map<String, Long> sealedKeyIds() {
        Map<String, Long> counts = new java.util.TreeMap<>();
        index.values().stream().filter(s -> s.keyId() != null).forEach(s -> counts.merge(s.keyId(), 1L, Long::sum));
        return counts;
    }

    /** The entries whose API key is sealed with a key other than {@code keyId} (from the index). */
    public List<UserKey> sealedWithOtherKeyThan(String keyId) {
        return index.entrySet().stream()
                .filter(e -> e.getValue().keyId() != null && !e.getValue().keyId().equals(keyId))
                .map(Map.Entry::getKey)
                .toList();
    }

    // ----- helpers ------------------------------------------------------------------------------

    private Path file(UserKey key) {
        return root.resolve(key.tenantId()).resolve(key.userId() + ENTRY_SUFFIX);
    }

    private ReentrantLock stripe(UserKey key) {
        return stripes[Math.floorMod(key.hashCode(), stripes.length)];
    }

    private void remember(PendingEntry e) {
        if (e.pending()) {
            tenantOfUser.put(UUID.fromString(e.userId()), e.tenantId());
        } else {
            tenantOfUser.remove(UUID.fromString(e.userId()), e.tenantId());
        }
        Status now = Status.of(e, stamps.incrementAndGet());
        counted(now, index.put(e.key(), now));
    }

    private void forget(UserKey key) {
        loaded.remove(key);
        tenantOfUser.remove(key.userId(), key.tenantId());
        counted(null, index.remove(key));
    }

    /** The pending count follows each change of the index (the map's put and remove answer what they replaced). */
    private void counted(Status now, Status before) {
        long delta = (now != null && now.pending() ? 1 : 0) - (before != null && before.pending() ? 1 : 0);
        if (delta != 0) {
            pendingEntries.addAndGet(delta);
        }
    }

    private Optional<PendingEntry> read(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            return Optional.of(ENTRY_READER.readValue(bytes));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (com.fasterxml.jackson.core.JacksonException | IllegalArgumentException e) {
            // Never silently drop: keep the unreadable document aside for an operator.
            Path aside = file.resolveSibling(file.getFileName() + ".corrupt-" + System.currentTimeMillis());
            LOG.error("Local store entry {} is not readable ({}); moved aside to {}", file, e.getMessage(), aside);
            try {
                Files.move(file, aside);
                keyOf(file).ifPresent(index::remove);
            } catch (IOException moveError) {
                LOG.error("Cannot move {} aside: {}", file, moveError.toString());
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read local store entry " + file, e);
        }
    }

    /**
     * At start only (no write is in flight): a temp file is what a crash left between writing an entry
     * and renaming it. It was never acknowledged (the answer comes after the rename), and the entry it
     * would have replaced is still whole under its own name: remove it. Health probes left behind go too.
     */
    private void removeStaleTempFiles() {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (DirectoryStream<Path> top = Files.newDirectoryStream(root)) {
            for (Path p : top) {
                String name = p.getFileName().toString();
                if (Files.isDirectory(p)) {
                    try (DirectoryStream<Path> temps = Files.newDirectoryStream(p, ".*" + TEMP_SUFFIX)) {
                        for (Path t : temps) {
                            LOG.warn("Local store: removing {}/{}, a temp file left by a crash before its rename "
                                    + "(never acknowledged; the entry it was to replace is kept)",
                                    p.getFileName(), t.getFileName());
                            Files.deleteIfExists(t);
                        }
                    }
                } else if (name.startsWith(".health-probe")) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            LOG.error("Local store: stale temp files cannot be removed: {}", e.toString());
        }
    }

    static boolean isEntryFile(Path file) {
        String name = file.getFileName().toString();
        return name.endsWith(ENTRY_SUFFIX) && !name.startsWith(".")
                && UserKey.validUser(name.substring(0, name.length() - ENTRY_SUFFIX.length()));
    }

    private static Optional<UserKey> keyOf(Path file) {
        String name = file.getFileName().toString();
        String tenant = file.getParent().getFileName().toString();
        String user = name.endsWith(ENTRY_SUFFIX) ? name.substring(0, name.length() - ENTRY_SUFFIX.length()) : name;
        return UserKey.validTenant(tenant) && UserKey.validUser(user) ? Optional.of(UserKey.of(tenant, user))
                : Optional.empty();
    }

    private static String rootMessage(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return t.getMessage() + (r != t ? " (" + r + ")" : "");
    }
}
