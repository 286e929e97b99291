package dev.agentconfig.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One service per data directory: an exclusive lock on {@code <data-dir>/.lock}, taken before the
 * embedded database, the secrets or the local store are touched, held for the life of the
 * service and released when it stops (or by the operating system when the process dies). The
 * holder's pid is written into the file so that a refused start can name it.
 *
 * <p>The lock is an OS file lock (fcntl), which belongs to the process: within one JVM (the test
 * harness runs several services in one) a second service is refused from a registry of the
 * directories this process holds, never by opening the file again, because closing any
 * descriptor of a locked file releases every lock the process has on it.
 */
public final class DataDirLock extends ServiceSupport {
    private static final Logger LOG = LoggerFactory.getLogger(DataDirLock.class);
    static final String FILE_NAME = ".lock";

    /** The data directories this process holds, by real path. */
    private static final Map<Path, DataDirLock> HELD = new HashMap<>();

    private final Path dataDir;
    private final Path key;
    private final FileChannel channel;
    private final FileLock lock;

    private DataDirLock(Path dataDir, Path key, FileChannel channel, FileLock lock) {
        this.dataDir = dataDir;
        this.key = key;
        this.channel = channel;
        this.lock = lock;
    }

    /** Owner only: the data directory holds the local store's entries, the secrets, the database. */
    static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");
    static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    /**
     * Locks {@code dataDir} (created when missing) or refuses with an IllegalStateException naming the holder.
     * The directory is made 0700 (created so, or narrowed when it exists wider) and the lock file 0600.
     */
    public static DataDirLock acquire(Path dataDir) {
        try {
            if (!Files.isDirectory(dataDir)) {
                Files.createDirectories(dataDir, PosixFilePermissions.asFileAttribute(DIRECTORY));
            }
            ownerOnly(dataDir, DIRECTORY);
            Path key = dataDir.toRealPath();
            synchronized (HELD) {
                if (HELD.containsKey(key)) {
                    throw refused(dataDir, "another service in this process (pid " + ProcessHandle.current().pid() + ")");
                }
                FileChannel channel = FileChannel.open(key.resolve(FILE_NAME), Set.of(StandardOpenOption.CREATE,
                        StandardOpenOption.READ, StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(FILE));
                ownerOnly(key.resolve(FILE_NAME), FILE);
                FileLock lock;
                try {
                    lock = channel.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null; // held in this JVM outside the registry: locked all the same
                } catch (IOException | RuntimeException e) {
                    channel.close();
                    throw e;
                }
                if (lock == null) {
                    String holder = holder(channel);
                    channel.close(); // this process holds no lock on the file: closing releases nothing
                    throw refused(dataDir, holder);
                }
                String pid = ProcessHandle.current().pid() + "\n";
                channel.truncate(0);
                channel.write(ByteBuffer.wrap(pid.getBytes(StandardCharsets.US_ASCII)), 0);
                channel.force(true);
                DataDirLock held = new DataDirLock(dataDir, key, channel, lock);
                HELD.put(key, held);
                LOG.info("Data directory {} locked ({})", dataDir, key.resolve(FILE_NAME));
                return held;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock the data directory " + dataDir, e);
        }
    }

    /** Narrows a path to the owner (the umask may have widened a new one; an old one may be wider). */
    private static void ownerOnly(Path path, Set<PosixFilePermission> permissions) {
        try {
            if (!Files.getPosixFilePermissions(path).equals(permissions)) {
                Files.setPosixFilePermissions(path, permissions);
                LOG.info("{} narrowed to {}", path, PosixFilePermissions.toString(permissions));
            }
        } catch (IOException | UnsupportedOperationException e) {
            LOG.warn("The permissions of {} cannot be set to {} ({}): other users of this machine may read it",
                    path, PosixFilePermissions.toString(permissions), e.toString());
        }
    }

    private static String holder(FileChannel channel) {
        try {
            ByteBuffer buffer = ByteBuffer.allocate(64);
            channel.read(buffer, 0);
            String pid = new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII).trim();
            return pid.matches("\\d+") ? "another process (pid " + pid + ")" : "another process";
        } catch (IOException e) {
            return "another process";
        }
    }

    private static IllegalStateException refused(Path dataDir, String holder) {
        return new IllegalStateException("the data directory " + dataDir + " is in use by " + holder
                + ": one data directory serves one agent-config-sync at a time. Stop the other service, or give "
                + "this one its own agentconfig.data-dir (AGENTCONFIG_DATA_DIR)");
    }

    public Path dataDir() {
        return dataDir;
    }

    @Override
    protected void doStart() {
        // taken in acquire(): before anything else reads or writes the data directory
    }

    @Override
    protected void doStop() throws IOException {
        synchronized (HELD) {
            if (HELD.get(key) != this) {
                return;
            }
            try {
                lock.release();
            } finally {
                try {
                    channel.close();
                } finally {
                    HELD.remove(key);
                }
            }
            LOG.info("Data directory {} released", dataDir);
        }
    }
}
