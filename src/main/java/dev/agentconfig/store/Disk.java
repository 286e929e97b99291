package dev.agentconfig.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The file-system operations that make a local-store entry durable, in one seam so that a test can
 * record their order: write the temp file, force it, rename it over the entry, force the directory.
 */
public interface Disk {
    /** How {@link #system()} opens a file to write it. */
    Set<StandardOpenOption> CREATE_WRITE = Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING);
    FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    /** Creates or truncates {@code file} (mode 0600) and writes {@code bytes} into it. */
    void write(Path file, byte[] bytes) throws IOException;

    /** fsync(2) of a file: its bytes are on disk when this returns. */
    void force(Path file) throws IOException;

    /** rename(2) of {@code from} over {@code to}; atomic: a reader sees the old or the new file, never a mix. */
    void move(Path from, Path to) throws IOException;

    /** fsync(2) of a directory: the names in it (a rename, a new file or directory) survive a power cut. */
    void forceDirectory(Path dir) throws IOException;

    /** The real file system. */
    static Disk system() {
        return new Disk() {
            @Override
            public void write(Path file, byte[] bytes) throws IOException {
                // one open(2): created 0600 when new (the mode applies to a new file only), truncated otherwise
                try (SeekableByteChannel ch = Files.newByteChannel(file, CREATE_WRITE, OWNER_ONLY)) {
                    ByteBuffer buffer = ByteBuffer.wrap(bytes);
                    while (buffer.hasRemaining()) {
                        ch.write(buffer);
                    }
                }
            }

            @Override
            public void force(Path file) throws IOException {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    ch.force(true);
                }
            }

            @Override
            public void move(Path from, Path to) throws IOException {
                Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
            }

            @Override
            public void forceDirectory(Path dir) throws IOException {
                force(dir);
            }
        };
    }
}
