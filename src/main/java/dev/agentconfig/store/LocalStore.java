package dev.agentconfig.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import dev.agentconfig.api.Problem;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.json.Json;
import dev.agentconfig.save.SaveContext;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetState;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's "localStorage": one JSON document per (tenant, user) under
 * {@code <data-dir>/local-store/<tenant>/<user>.json}. The Camel file endpoint of route
 * {@code write-local-entry} writes a document under its temp name {@code .<user>.json.tmp} beside
 * the entry; {@link #commit} then forces those bytes to disk, renames the temp file over the entry
 * (atomic on one filesystem: a reader, or a restart after a power cut, finds the old entry or the
 * new one, whole) and forces the directory, all before the save is answered.
 * A per-key lock serialises read-merge-write for concurrent saves of the same user.
 */
public final class LocalStore {
    private static final Logger LOG = LoggerFactory.getLogger(LocalStore.class);
    public static final String ENTRY_PROPERTY = "agentconfig.entry";
    private static final String ENTRY_SUFFIX = ".json";
    private static final String TEMP_SUFFIX = ".json.tmp";

    private final Path root;
    private final Disk disk;
    private final ReentrantLock[] stripes = new ReentrantLock[256];
    /** user -> tenant of every entry on disk, to refuse a save under a second tenant. */
    private final Map<UUID, String> tenantOfUser = new ConcurrentHashMap<>();
    private final Map<Path, Boolean> syncedDirs = new ConcurrentHashMap<>();
    /**
     * What each entry on disk is waiting for (state, age, next attempt), kept in memory so that the
     * sync finds due entries and the metrics count them without re-reading every file. Updated by
     * every write (fsync), every removal, and the start-up scan.
     */
    private final Map<EntryKey, Status> index = new ConcurrentHashMap<>();
    private long newestVersion;

    /** The indexed part of an entry. */
    public record Status(String state, Instant createdAt, Instant nextAttemptAt) {
        static Status of(PendingEntry e) {
            return new Status(e.state(), e.createdAt() == null ? Instant.EPOCH : Instant.parse(e.createdAt()),
                    e.nextAttempt());
        }

        public boolean pending() {
            return PendingEntry.PENDING.equals(state);
        }
    }

    public LocalStore(Path root) {
        this(root, Disk.system());
    }

    public LocalStore(Path root, Disk disk) {
        this.root = root;
        this.disk = disk;
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
            tenantOfUser.put(UUID.fromString(e.userId()), e.tenantId());
            index.put(new EntryKey(e.tenantId(), e.userId()), Status.of(e));
            newestVersion = Math.max(newestVersion, e.fields().values().stream()
                    .mapToLong(PendingEntry.FieldEntry::version).max().orElse(0));
        }
    }

    /**
     * At start only (no write is in flight): a temp file is what a crash left between writing an
     * entry and renaming it. It was never acknowledged (the answer comes after the rename), and the
     * entry it would have replaced is still whole under its own name: remove it. Health probes
     * left behind go too.
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

    /** The newest field version held by an entry when the store started (0 when none). */
    public long newestVersionAtStart() {
        return newestVersion;
    }

    public Path root() {
        return root;
    }

    public Path file(String tenantId, String userId) {
        return root.resolve(tenantId).resolve(userId + ENTRY_SUFFIX);
    }

    /** Where the file endpoint writes an entry before it is made durable and renamed over {@link #file}. */
    Path tempFile(String tenantId, String userId) {
        return root.resolve(tenantId).resolve("." + userId + TEMP_SUFFIX);
    }

    /** The name the file endpoint writes (the entry's temp file), relative to the store's root. */
    public static String relativeTempName(String tenantId, String userId) {
        return tenantId + "/." + userId + TEMP_SUFFIX;
    }

    private ReentrantLock stripe(String tenantId, String userId) {
        return stripes[Math.floorMod((tenantId + "/" + userId).hashCode(), stripes.length)];
    }

    public void lock(String tenantId, String userId) {
        stripe(tenantId, userId).lock();
    }

    public void unlock(String tenantId, String userId) {
        ReentrantLock lock = stripe(tenantId, userId);
        if (lock.isHeldByCurrentThread()) {
            lock.unlock();
        }
    }

    public Optional<PendingEntry> read(String tenantId, String userId) {
        return read(file(tenantId, userId));
    }

    Optional<PendingEntry> read(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            return Optional.of(Json.MAPPER.readValue(bytes, PendingEntry.class));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            // Never silently drop: keep the unreadable document aside for an operator.
            Path aside = file.resolveSibling(file.getFileName() + ".corrupt-" + System.currentTimeMillis());
            LOG.error("Local store entry {} is not readable ({}); moved aside to {}", file, e.getOriginalMessage(), aside);
            try {
                Files.move(file, aside);
                index.remove(keyOf(file));
            } catch (IOException moveError) {
                LOG.error("Cannot move {} aside: {}", file, moveError.toString());
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read local store entry " + file, e);
        }
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

    /** The tenant a user has a pending entry under, if any. */
    public Optional<String> tenantOfPendingUser(UUID userId) {
        return Optional.ofNullable(tenantOfUser.get(userId));
    }

    /**
     * Deletes the entry if it is still at the given revision (a save merged in meanwhile keeps it).
     * The caller holds the key's lock. Returns true when the entry is gone.
     */
    public boolean removeIfUnchanged(String tenantId, String userId, long revision) {
        Optional<PendingEntry> current = read(tenantId, userId);
        if (current.isEmpty()) {
            tenantOfUser.remove(UUID.fromString(userId), tenantId);
            index.remove(new EntryKey(tenantId, userId));
            return true;
        }
        if (current.get().revision() != revision) {
            return false;
        }
        Path f = file(tenantId, userId);
        try {
            // No fsync of the directory: if a crash brings the file back, the next pass replays
            // it again, which the database's per-field guard makes a no-op. Durability is needed
            // for what is written (an acknowledged save), not for what is forgotten.
            Files.deleteIfExists(f);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove local store entry " + f, e);
        }
        tenantOfUser.remove(UUID.fromString(userId), tenantId);
        index.remove(new EntryKey(tenantId, userId));
        return true;
    }

    /** Drops the key from the in-memory index when its file is gone (someone deleted it by hand). */
    public void forgetIfAbsent(String tenantId, String userId) {
        lock(tenantId, userId);
        try {
            if (!Files.exists(file(tenantId, userId))) {
                tenantOfUser.remove(UUID.fromString(userId), tenantId);
                index.remove(new EntryKey(tenantId, userId));
            }
        } finally {
            unlock(tenantId, userId);
        }
    }

    // ----- the in-memory index: due entries and counts, without reading files --------------------

    /** Pending entries whose next attempt is due at {@code now}, the longest-waiting first. */
    public List<EntryKey> dueKeys(Instant now) {
        return index.entrySet().stream()
                .filter(e -> e.getValue().pending() && !e.getValue().nextAttemptAt().isAfter(now))
                .sorted(java.util.Comparator.comparing((Map.Entry<EntryKey, Status> e) -> e.getValue().nextAttemptAt())
                        .thenComparing(e -> e.getValue().createdAt()))
                .map(Map.Entry::getKey)
                .toList();
    }

    public long pendingCount() {
        return index.values().stream().filter(Status::pending).count();
    }

    public long quarantinedCount() {
        return index.values().stream().filter(s -> PendingEntry.QUARANTINED.equals(s.state())).count();
    }

    /** When the oldest pending entry was first parked, if any entry is pending. */
    public Optional<Instant> oldestPending() {
        return index.values().stream().filter(Status::pending).map(Status::createdAt).min(Instant::compareTo);
    }

    static boolean isEntryFile(Path file) {
        String name = file.getFileName().toString();
        return name.endsWith(ENTRY_SUFFIX) && !name.startsWith(".")
                && dev.agentconfig.save.Identifiers.validUser(name.substring(0, name.length() - ENTRY_SUFFIX.length()));
    }

    private static EntryKey keyOf(Path file) {
        String name = file.getFileName().toString();
        return new EntryKey(file.getParent().getFileName().toString(),
                name.endsWith(".json") ? name.substring(0, name.length() - 5) : name);
    }

    // ----- steps of the routes park-in-local-store and write-local-entry -------------------------

    public void lockForSave(Exchange exchange) {
        SaveContext ctx = exchange.getProperty(SaveContext.PROPERTY, SaveContext.class);
        lock(ctx.save().tenantId(), ctx.save().userId().toString());
    }

    public void unlockForSave(Exchange exchange) {
        SaveContext ctx = exchange.getProperty(SaveContext.PROPERTY, SaveContext.class);
        unlock(ctx.save().tenantId(), ctx.save().userId().toString());
    }

    /** Merges the failed target of this save into the key's entry; the body becomes that entry. */
    public void mergeFailedTarget(Exchange exchange) {
        SaveContext ctx = exchange.getProperty(SaveContext.PROPERTY, SaveContext.class);
        Target target = Target.byTable(exchange.getProperty(SaveContext.TARGET_PROPERTY, String.class));
        var failure = ctx.failure(target);
        boolean quarantine = ctx.state(target) == TargetState.QUARANTINED
                || failure.failureClass() == FailureClass.REJECTED;
        PendingEntry existing = read(ctx.save().tenantId(), ctx.save().userId().toString()).orElse(null);
        PendingEntry merged = PendingEntry.merge(existing, ctx.save(), target, failure, quarantine, Instant.now());
        if (merged.quarantined()) {
            ctx.record(target, TargetState.QUARANTINED, failure);
        }
        exchange.getMessage().setBody(merged);
    }

    /** Prepares the body (an entry) for the file endpoint: JSON bytes and the temp file's name. */
    public void toFile(Exchange exchange) throws org.apache.camel.InvalidPayloadException {
        PendingEntry entry = exchange.getMessage().getMandatoryBody(PendingEntry.class);
        exchange.setProperty(ENTRY_PROPERTY, entry);
        exchange.getMessage().setHeader(Exchange.FILE_NAME, relativeTempName(entry.tenantId(), entry.userId()));
        exchange.getMessage().setBody(Json.writeBytes(entry));
    }

    /**
     * After the file endpoint wrote the temp file: force its bytes to disk, rename it over the entry,
     * force the directory (and the store's root the first time a tenant's directory is written, as
     * it may be new). Only then is the entry durable, and only then may the save be acknowledged.
     * In this order a power cut leaves the previous entry or the new one, whole; never a torn file.
     */
    public void commit(Exchange exchange) throws IOException {
        PendingEntry entry = exchange.getProperty(ENTRY_PROPERTY, PendingEntry.class);
        exchange.getMessage().removeHeaders("CamelFile*");
        Path tmp = tempFile(entry.tenantId(), entry.userId());
        Path f = file(entry.tenantId(), entry.userId());
        disk.force(tmp);
        disk.move(tmp, f);
        Path dir = f.getParent();
        disk.forceDirectory(dir);
        if (!syncedDirs.containsKey(dir)) {
            disk.forceDirectory(root); // first entry of this tenant: its directory's name must be durable too
            syncedDirs.put(dir, Boolean.TRUE);
        }
        tenantOfUser.put(UUID.fromString(entry.userId()), entry.tenantId());
        index.put(new EntryKey(entry.tenantId(), entry.userId()), Status.of(entry));
        exchange.getMessage().setBody(entry);
    }

    /** The file endpoint failed: nothing may be acknowledged. */
    public void unwritable(Exchange exchange) {
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        LOG.error("The local store cannot be written: {}", cause == null ? "unknown" : rootMessage(cause));
        throw Problem.localStoreUnavailable("the save could not be written to the database and the local store "
                + "cannot be written either; nothing was saved, retry later");
    }

    private static String rootMessage(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return t.getMessage() + (r != t ? " (" + r + ")" : "");
    }
}
