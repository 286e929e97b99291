package dev.agentconfig.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The three file-system operations that make a local-store entry durable, in one seam so that a
 * test can record their order (the bytes themselves are written by the Camel file endpoint).
 */
public interface Disk {

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
