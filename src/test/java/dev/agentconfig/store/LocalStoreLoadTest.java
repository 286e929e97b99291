package dev.agentconfig.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.json.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An entry read for a replay ({@link LocalStore#load}) is reused, not read again, by the next update of that entry
 * when nothing changed it since; any change in between (a write by the store, a removal, the file replaced by
 * anything else) and the update works on the entry as it is on disk now. Real files in a temp directory.
 */
class LocalStoreLoadTest {
    @TempDir
    Path dir;

    private static PendingEntry entry(UserKey key, String callAgentId, long revision) {
        String now = Instant.now().toString();
        return new PendingEntry(1, key.tenantId(), key.userId().toString(),
                Map.of("callAgentId", new PendingEntry.FieldEntry(callAgentId, 100 + revision, UUID.randomUUID().toString())),
                List.of("user_profiles", "user_settings"), PendingEntry.PENDING, null, 0, now, now, now, revision);
    }

    private static void write(LocalStore store, PendingEntry e) {
        store.update(e.key(), current -> new StoreChange.Write<>(e, e));
    }

    /** The entry the update decides on. */
    private static PendingEntry seenByUpdate(LocalStore store, UserKey key) {
        AtomicReference<Optional<PendingEntry>> seen = new AtomicReference<>();
        store.update(key, current -> {
            seen.set(current);
            return new StoreChange.Keep<>(null);
        });
        return seen.get().orElse(null);
    }

    @Test
    void anUnchangedEntryIsNotReadAgain() {
        LocalStore store = new LocalStore(dir.resolve("local-store"));
        UserKey key = UserKey.of("t1", UUID.randomUUID().toString());
        write(store, entry(key, "c1", 1));

        PendingEntry loaded = store.load(key).orElseThrow();
        // the very object load parsed: the file was not parsed a second time
        assertThat(seenByUpdate(store, key)).isSameAs(loaded);
        // used once: the next update reads the file
        PendingEntry again = seenByUpdate(store, key);
        assertThat(again).isNotSameAs(loaded).isEqualTo(loaded);
    }

    @Test
    void aWriteBetweenTheLoadAndTheUpdateIsSeen() {
        LocalStore store = new LocalStore(dir.resolve("local-store"));
        UserKey key = UserKey.of("t1", UUID.randomUUID().toString());
        write(store, entry(key, "c1", 1));

        PendingEntry loaded = store.load(key).orElseThrow();
        write(store, entry(key, "c2", 2)); // a save merged in meanwhile
        PendingEntry seen = seenByUpdate(store, key);
        assertThat(seen).isNotSameAs(loaded);
        assertThat(seen.revision()).isEqualTo(2);
        assertThat(seen.fields().get("callAgentId").value()).isEqualTo("c2");
    }

    @Test
    void aRemovalAndANewEntryAtTheSameRevisionBetweenTheLoadAndTheUpdateAreSeen() {
        LocalStore store = new LocalStore(dir.resolve("local-store"));
        UserKey key = UserKey.of("t1", UUID.randomUUID().toString());
        write(store, entry(key, "c1", 1));

        PendingEntry loaded = store.load(key).orElseThrow();
        store.update(key, current -> new StoreChange.Remove<>(current.orElseThrow().revision(), null, null));
        write(store, entry(key, "c9", 1)); // parked anew: revision 1 again, other values
        PendingEntry seen = seenByUpdate(store, key);
        assertThat(seen).isNotSameAs(loaded);
        assertThat(seen.fields().get("callAgentId").value()).isEqualTo("c9");
    }

    @Test
    void aFileReplacedByAnythingElseBetweenTheLoadAndTheUpdateIsReadAgain() throws Exception {
        LocalStore store = new LocalStore(dir.resolve("local-store"));
        UserKey key = UserKey.of("t1", UUID.randomUUID().toString());
        write(store, entry(key, "c1", 1));
        Path file = dir.resolve("local-store").resolve("t1").resolve(key.userId() + ".json");
        assertThat(file).exists();

        PendingEntry loaded = store.load(key).orElseThrow();
        // not through the store: its stamp does not move, the file does
        Files.write(file, Json.writeBytes(entry(key, "c_outside", 1)));
        PendingEntry seen = seenByUpdate(store, key);
        assertThat(seen).isNotSameAs(loaded);
        assertThat(seen.fields().get("callAgentId").value()).isEqualTo("c_outside");
    }

    @Test
    void withTheCacheOffEveryUpdateReads() {
        LocalStore store = new LocalStore(dir.resolve("local-store"), Disk.system(), LocalStore.KNOWN_TENANTS, 0);
        UserKey key = UserKey.of("t1", UUID.randomUUID().toString());
        write(store, entry(key, "c1", 1));

        PendingEntry loaded = store.load(key).orElseThrow();
        assertThat(seenByUpdate(store, key)).isNotSameAs(loaded).isEqualTo(loaded);
    }
}
