package dev.agentconfig.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The real file system, with every durability operation recorded in order, and what the files
 * held at that moment. A tenant listed in {@link #crashBeforeRename} makes the rename fail, as if
 * the process died between writing the temp file and renaming it.
 */
final class RecordingDisk implements Disk {
    /** One operation: its kind, the file's name, and (for a force) what the file and the entry held. */
    record Op(String kind, Path path, Path to, String content, String entryContent) {
        @Override
        public String toString() {
            return kind + " " + path.getParent().getFileName() + "/" + path.getFileName()
                    + (to == null ? "" : " -> " + to.getFileName());
        }
    }

    private final Disk real = Disk.system();
    private final List<Op> ops = new ArrayList<>();
    final Set<String> crashBeforeRename = ConcurrentHashMap.newKeySet();

    @Override
    public void write(Path file, byte[] bytes) throws IOException {
        record(new Op("write", file, null, null, null));
        real.write(file, bytes);
    }

    @Override
    public void force(Path file) throws IOException {
        String content = Files.isRegularFile(file) ? Files.readString(file) : null;
        Path entry = file.resolveSibling(file.getFileName().toString().replaceFirst("^\\.", "").replaceFirst("\\.tmp$", ""));
        String entryContent = Files.isRegularFile(entry) ? Files.readString(entry) : null;
        record(new Op("force", file, null, content, entryContent));
        real.force(file);
    }

    @Override
    public void move(Path from, Path to) throws IOException {
        record(new Op("move", from, to, null, null));
        if (crashBeforeRename.contains(from.getParent().getFileName().toString())) {
            throw new IOException("simulated crash before the rename");
        }
        real.move(from, to);
    }

    @Override
    public void forceDirectory(Path dir) throws IOException {
        record(new Op("forceDirectory", dir.resolve("."), null, null, null));
        real.forceDirectory(dir);
    }

    private synchronized void record(Op op) {
        ops.add(op);
    }

    /** The operations that touched this tenant's directory (or the store's root), in order. */
    synchronized List<Op> of(String tenant) {
        return ops.stream().filter(o -> o.path().toString().contains("/" + tenant + "/")).toList();
    }

    synchronized List<Op> all() {
        return List.copyOf(ops);
    }
}
