package dev.agentconfig.rotation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

import dev.agentconfig.json.Json;

/**
 * {@code <data-dir>/key-rotation.json}: a rotation has started and not finished. Written durably
 * (temporary file, fsync, rename, directory fsync) when a rotation starts and as it goes, removed when
 * it ends; found at start, it resumes the rotation (after a crash or a stop in the middle). What the
 * rotation has done is never needed to resume it: it looks again for what is still under another key.
 */
final class RotationMarker {
    /** What the file holds: key ids and counts, nothing secret. */
    record State(String activeKeyId, String startedAt, long resealed, String updatedAt) {
    }

    private final Path file;

    RotationMarker(Path dataDir) {
        this.file = dataDir.resolve("key-rotation.json");
    }

    Path file() {
        return file;
    }

    Optional<State> read() {
        try {
            return Optional.of(Json.MAPPER.readValue(Files.readAllBytes(file), State.class));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            // unreadable (a crash mid-way cannot leave one: the file is renamed into place): resume anyway
            return Optional.of(new State(null, null, 0, null));
        }
    }

    void write(String activeKeyId, Instant startedAt, long resealed) {
        Path dir = file.getParent();
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        State state = new State(activeKeyId, startedAt.toString(), resealed, Instant.now().toString());
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                ByteBuffer bytes = ByteBuffer.wrap(Json.writeBytes(state));
                while (bytes.hasRemaining()) {
                    ch.write(bytes);
                }
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    void remove() {
        try {
            Files.deleteIfExists(file);
            try (FileChannel d = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + file, e);
        }
    }
}
