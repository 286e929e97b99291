package dev.agentconfig.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.json.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the start-up scan makes of the files a crash can leave behind. */
class LocalStoreStartUpTest {

    @TempDir
    Path root;

    private static PendingEntry entry(String tenant, UUID user, String callAgentId) {
        String now = Instant.now().toString();
        return new PendingEntry(1, tenant, user.toString(),
                Map.of("callAgentId", new PendingEntry.FieldEntry(callAgentId, 1_000L, UUID.randomUUID().toString())),
                List.of("user_profiles"), PendingEntry.PENDING, null, 1, now, now, now, 1);
    }

    @Test
    void staleTempFilesAreNotEntriesAndAreRemovedWithoutTouchingTheRealEntry() throws Exception {
        UUID user = UUID.randomUUID();
        UUID orphan = UUID.randomUUID();
        Path dir = Files.createDirectories(root.resolve("acme"));
        byte[] complete = Json.writeBytes(entry("acme", user, "kept"));
        Files.write(dir.resolve(user + ".json"), complete);
        // a crash in the middle of writing the next version of that entry
        Files.writeString(dir.resolve("." + user + ".json.tmp"), "{\"format\":1,\"tenantId\":\"ac");
        // a crash after a complete temp file was written, before its rename: never acknowledged
        Files.write(dir.resolve("." + orphan + ".json.tmp"), Json.writeBytes(entry("acme", orphan, "unacknowledged")));
        // a health probe left behind
        Files.writeString(root.resolve(".health-probe-" + UUID.randomUUID()), "x");

        LocalStore store = new LocalStore(root);

        assertThat(store.list()).extracting(PendingEntry::userId).containsExactly(user.toString());
        assertThat(store.pendingCount()).isEqualTo(1);
        assertThat(Files.readAllBytes(dir.resolve(user + ".json"))).isEqualTo(complete);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly(user + ".json");
        }
        try (Stream<Path> files = Files.list(root)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("acme");
        }
    }
}
