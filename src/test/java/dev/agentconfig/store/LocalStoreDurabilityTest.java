package dev.agentconfig.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.testing.ServiceTestSupport;
import org.apache.camel.spi.Registry;
import org.apache.camel.support.DefaultRegistry;
import org.junit.jupiter.api.Test;

/**
 * An acknowledged save parked in the local store survives a power cut: the entry is written
 * under a temp name, forced to disk, renamed over the entry, and the directory forced, all
 * before the answer. The order is recorded through the store's {@link Disk} seam on the real
 * file system, with the real route (write-local-entry) and the real Camel file endpoint.
 */
class LocalStoreDurabilityTest extends ServiceTestSupport {
    private final RecordingDisk disk = new RecordingDisk();

    @Override
    protected Registry createCamelRegistry() {
        Registry registry = new DefaultRegistry();
        registry.bind("localStoreDisk", disk);
        return registry;
    }

    private Path store() {
        return dataDir.resolve("local-store");
    }

    /** Both database targets fail with schema drift while user_profiles is renamed away: saves are parked. */
    private HttpResponse<String> parked(String tenant, UUID user, String json) {
        execute("ALTER TABLE public.user_profiles RENAME TO user_profiles_away");
        try {
            return put(tenant, user, json);
        } finally {
            execute("ALTER TABLE public.user_profiles_away RENAME TO user_profiles");
        }
    }

    @Test
    void theTempFileIsForcedBeforeItIsRenamedAndTheDirectoryAfter() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        HttpResponse<String> first = parked(tenant, user, "{\"callAgentId\":\"c1\"}");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(202);

        String tmp = "." + user + ".json.tmp";
        String entry = user + ".json";
        // one save, both targets failed: one durable write of the entry, with both targets in it
        assertThat(disk.of(tenant)).extracting(Object::toString).containsExactly(
                "write " + tenant + "/" + tmp, "force " + tenant + "/" + tmp,
                "move " + tenant + "/" + tmp + " -> " + entry, "forceDirectory " + tenant + "/.");
        List<RecordingDisk.Op> ops = disk.of(tenant);
        // when the temp file was forced it held the whole entry, and the entry's name did not point at it yet
        assertThat(json(ops.get(1).content()).get("fields").get("callAgentId").get("value").asText()).isEqualTo("c1");
        assertThat(json(ops.get(1).content()).get("pendingTargets")).hasSize(2);
        assertThat(ops.get(1).entryContent()).isNull();
        // the tenant's directory was new: the store's root was forced after it, before the answer
        List<RecordingDisk.Op> all = disk.all();
        int dirForced = all.indexOf(ops.get(3));
        assertThat(all.get(dirForced + 1).toString()).isEqualTo("forceDirectory local-store/.");

        // a second save: the old entry stays whole under its name until the new one is on disk
        HttpResponse<String> second = parked(tenant, user, "{\"smsAgentId\":\"s2\"}");
        assertThat(second.statusCode()).as(second.body()).isEqualTo(202);
        RecordingDisk.Op forced = disk.of(tenant).get(5);
        assertThat(forced.toString()).isEqualTo("force " + tenant + "/" + tmp);
        assertThat(json(forced.entryContent()).get("fields").has("smsAgentId")).isFalse();
        assertThat(json(forced.content()).get("fields").get("smsAgentId").get("value").asText()).isEqualTo("s2");
        assertThat(json(forced.content()).get("fields").get("callAgentId").get("value").asText()).isEqualTo("c1");

        JsonNode onDisk = localEntry(tenant, user).orElseThrow();
        assertThat(onDisk.get("fields").get("smsAgentId").get("value").asText()).isEqualTo("s2");
        assertThat(store().resolve(tenant).resolve(tmp)).doesNotExist();
    }

    @Test
    void aCrashBeforeTheRenameLeavesThePreviousEntryWholeAndStartUpCleansTheTempFile() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(parked(tenant, user, "{\"callAgentId\":\"acknowledged\"}").statusCode()).isEqualTo(202);
        String before = Files.readString(localFile(tenant, user));

        disk.crashBeforeRename.add(tenant);
        HttpResponse<String> lost;
        try {
            lost = parked(tenant, user, "{\"callAgentId\":\"never_acknowledged\"}");
        } finally {
            disk.crashBeforeRename.remove(tenant);
        }
        // the new entry never reached its name: nothing was acknowledged
        assertThat(lost.statusCode()).as(lost.body()).isEqualTo(503);
        Path tmp = store().resolve(tenant).resolve("." + user + ".json.tmp");
        assertThat(tmp).exists();
        assertThat(Files.readString(localFile(tenant, user))).isEqualTo(before);

        // start-up after the crash: the previous, complete entry is found; the temp file is not an
        // entry, is removed, and nothing is moved aside as corrupt
        LocalStore restarted = new LocalStore(store());
        assertThat(restarted.list()).extracting(PendingEntry::userId).contains(user.toString());
        assertThat(restarted.read(dev.agentconfig.core.UserKey.of(tenant, user.toString())).orElseThrow().fields().get("callAgentId").value())
                .isEqualTo("acknowledged");
        assertThat(tmp).doesNotExist();
        assertThat(Files.readString(localFile(tenant, user))).isEqualTo(before);
        try (Stream<Path> files = Files.list(store().resolve(tenant))) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly(user + ".json");
        }
    }
}
