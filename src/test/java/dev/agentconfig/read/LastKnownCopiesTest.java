package dev.agentconfig.read;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.core.Origin;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.core.VersionedValue;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.json.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The copies a drain feeds (each replayed entry a table took, {@link LastKnownCopies#written}), on real files: a
 * copy that already holds the versions is not written again, many users' copies are written from many threads at
 * once (each under its user's stripe) and all land, one user's copy ends at its newest version whatever the order
 * its writes arrive in, and beyond the bound the oldest copy's file goes.
 */
class LastKnownCopiesTest {
    private static final long BASE = HybridLogicalClock.micros(Instant.parse("2026-01-01T00:00:00Z")) << 16;

    @TempDir
    Path dir;

    private static WriteResult taken(UserKey user, String callAgentId, long version) {
        UUID saveId = UUID.randomUUID();
        SealedSave save = new SealedSave(user, saveId, version,
                Map.of(Field.CALL_AGENT_ID, new VersionedValue(callAgentId, version, saveId)), Origin.REPLAY,
                EnumSet.allOf(Target.class), 1, false, null);
        return WriteResult.of(save).with(new TargetOutcome.Saved(Target.USER_PROFILES, Map.of(), null));
    }

    private Path file(UserKey user) {
        return dir.resolve(user.tenantId()).resolve(user.userId() + ".json");
    }

    private JsonNode onDisk(UserKey user) throws Exception {
        return Json.MAPPER.readTree(Files.readAllBytes(file(user))).get("fields").get("callAgentId");
    }

    @Test
    void aCopyThatAlreadyHoldsTheVersionsIsNotWrittenAgain() throws Exception {
        LastKnownCopies copies = new LastKnownCopies(dir, null, null, 100);
        UserKey user = UserKey.of("t1", UUID.randomUUID().toString());
        copies.written(taken(user, "c1", BASE + 1));
        assertThat(onDisk(user).get("value").asText()).isEqualTo("c1");

        Files.delete(file(user));
        copies.written(taken(user, "c1", BASE + 1)); // the same version again (a replay of what the copy holds)
        assertThat(file(user)).doesNotExist();

        copies.written(taken(user, "c2", BASE + 2));
        assertThat(onDisk(user).get("value").asText()).isEqualTo("c2");
        assertThat(onDisk(user).get("version").asLong()).isEqualTo(BASE + 2);
    }

    @Test
    void manyUsersFromManyThreadsAllLandAndEachUserEndsAtItsNewestVersion() throws Exception {
        LastKnownCopies copies = new LastKnownCopies(dir, null, null, 10_000);
        List<UserKey> users = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            users.add(UserKey.of("t" + (i % 3), UUID.randomUUID().toString()));
        }
        // every user's versions 1..10, all shuffled over 8 threads: the arrival order is not the version order
        List<WriteResult> writes = new ArrayList<>();
        for (UserKey user : users) {
            for (int v = 1; v <= 10; v++) {
                writes.add(taken(user, "c" + v, BASE + v));
            }
        }
        Collections.shuffle(writes);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int from = t;
                done.add(pool.submit(() -> {
                    for (int k = from; k < writes.size(); k += 8) {
                        copies.written(writes.get(k));
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }

        assertThat(copies.size()).isEqualTo(users.size());
        for (UserKey user : users) {
            assertThat(onDisk(user).get("version").asLong()).as("%s", user).isEqualTo(BASE + 10);
            assertThat(onDisk(user).get("value").asText()).isEqualTo("c10");
            assertThat(copies.reading(user).orElseThrow().fields().get(Field.CALL_AGENT_ID).value()).isEqualTo("c10");
        }
        try (var left = Files.walk(dir)) {
            assertThat(left.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList()).isEmpty();
        }
    }

    @Test
    void beyondTheBoundTheOldestCopysFileGoes() {
        LastKnownCopies copies = new LastKnownCopies(dir, null, null, 2);
        UserKey first = UserKey.of("t1", UUID.randomUUID().toString());
        UserKey second = UserKey.of("t1", UUID.randomUUID().toString());
        UserKey third = UserKey.of("t1", UUID.randomUUID().toString());
        copies.written(taken(first, "c1", BASE + 1));
        copies.written(taken(second, "c1", BASE + 1));
        copies.written(taken(third, "c1", BASE + 1));

        assertThat(copies.size()).isEqualTo(2);
        assertThat(file(first)).doesNotExist();
        assertThat(file(second)).exists();
        assertThat(file(third)).exists();
    }
}
