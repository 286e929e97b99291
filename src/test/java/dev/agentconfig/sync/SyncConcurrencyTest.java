package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.core.UserKey;
import org.apache.camel.builder.AdviceWith;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Saves arriving while passes run are never lost nor overwritten by a replay. Pending entries
 * for 30 users; then, at the same time: the scheduled pass (every 100 ms), a client calling
 * POST /api/v1/sync in a loop, three clients saving random fields over HTTP, and a "schema
 * flapper" that renames the settings function away now and then, so some of those saves are
 * parked and merged into entries while they are being replayed. The race this is about is also
 * made to happen once for certain: the first batch replayed after the tables are back stops between
 * its database write and its settling while a save for one of its users is parked (the settings
 * function renamed away) and merged into that entry; the test asserts it was counted as changed
 * during replay. At the end every field in both tables holds the value of the newest acknowledged
 * save, and no entry was ever replayed by two passes at once (passes are serialised).
 */
class SyncConcurrencyTest extends SyncTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(SyncConcurrencyTest.class);
    private static final int USERS = 40;
    private static final int SAVES_PER_CLIENT = 120;

    private final Set<UserKey> inFlight = ConcurrentHashMap.newKeySet();
    private final AtomicInteger overlaps = new AtomicInteger();
    /** Armed once the tables are back: the next batch to settle runs it (once), between write and settle. */
    private final AtomicReference<Consumer<UserKey>> duringReplay = new AtomicReference<>();

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.sync.interval", "100ms");
        p.setProperty("agentconfig.sync.initial-delay", "100ms");
        p.setProperty("agentconfig.sync.backoff-base", "50ms");
        p.setProperty("agentconfig.sync.backoff-max", "200ms");
        return p;
    }

    /** newest acknowledged (version, value) per user and field */
    private final Map<UUID, Map<String, long[]>> newestVersion = new ConcurrentHashMap<>();
    private final Map<UUID, Map<String, String>> newestValue = new ConcurrentHashMap<>();

    private synchronized void acknowledged(UUID user, String field, String value, long version) {
        long[] current = newestVersion.computeIfAbsent(user, u -> new ConcurrentHashMap<>())
                .computeIfAbsent(field, f -> new long[] {Long.MIN_VALUE});
        if (version > current[0]) {
            current[0] = version;
            newestValue.computeIfAbsent(user, u -> new ConcurrentHashMap<>()).put(field, value);
        }
    }

    @Test
    void savesDuringPassesAreNeitherLostNorOverwritten() throws Exception {
        AdviceWith.adviceWith(context, "replay-batch", a -> {
            a.weaveById("load-replays").before().process(ex -> {
                List<UserKey> keys = ex.getMessage().getBody(SyncPlan.Batch.class).keys();
                for (UserKey key : keys) {
                    if (!inFlight.add(key)) {
                        overlaps.incrementAndGet();
                    }
                }
                ex.setProperty("test.keys", keys);
            });
            a.weaveById("settle-replay").after().process(ex -> inFlight.removeAll(ex.getProperty("test.keys", List.class)));
        });
        // a slow disk: widens the window between a batch's database write and its settling, so
        // that saves merged into an entry during its replay actually happen in this test
        AdviceWith.adviceWith(context, "replay-batch", a -> a.weaveById("settle-replay").before().process(ex -> {
            @SuppressWarnings("unchecked")
            List<UserKey> keys = ex.getProperty("test.keys", List.class);
            Consumer<UserKey> race = keys.isEmpty() ? null : duringReplay.getAndSet(null);
            if (race != null) {
                race.accept(keys.get(0));
            }
            pause(15);
        }));
        String tenant = newTenant();
        List<UUID> users = new ArrayList<>();
        for (int i = 0; i < USERS; i++) {
            users.add(newUser());
        }
        withTablesAway(() -> users.forEach(u -> {
            JsonNode a = putQueued(tenant, u, "{\"callAgentId\":\"c0\",\"smsAgentId\":\"s0\"}");
            acknowledged(u, "callAgentId", "c0", a.get("version").asLong());
            acknowledged(u, "smsAgentId", "s0", a.get("version").asLong());
        }));
        // the race, for certain: a save for a user whose entry is being replayed (written, not yet settled), parked
        // because its user_settings write fails, and merged into that entry. Armed after the tables are back, so
        // the batch that takes it is one whose write reached the database; 40 entries wait, so a batch will come
        AtomicReference<UserKey> raced = new AtomicReference<>();
        duringReplay.set(key -> {
            execute("ALTER FUNCTION public.update_user_api_keys(uuid, text, jsonb, jsonb, jsonb) RENAME TO update_user_api_keys_away");
            try {
                JsonNode a = putQueued(tenant, key.userId(), "{\"smsAgentId\":\"s_raced\"}");
                acknowledged(key.userId(), "smsAgentId", "s_raced", a.get("version").asLong());
            } finally {
                execute("ALTER FUNCTION public.update_user_api_keys_away(uuid, text, jsonb, jsonb, jsonb) RENAME TO update_user_api_keys");
            }
            raced.set(key);
        });
        await().atMost(Duration.ofSeconds(60)).until(() -> raced.get() != null);
        // ... and the pass saw it: counted as changed during replay (its entry kept for a later pass; the newest value
        // in both tables is checked with all the others at the end)
        await().atMost(Duration.ofSeconds(60)).until(() -> changedDuringReplay(logs.text()) >= 1);

        AtomicBoolean stop = new AtomicBoolean();
        int logMark = logs.text().length();
        AtomicInteger changed = new AtomicInteger();
        AtomicInteger posts = new AtomicInteger();
        AtomicInteger parked = new AtomicInteger();
        CompletableFuture<Void> poster = CompletableFuture.runAsync(() -> {
            while (!stop.get()) {
                changed.addAndGet(sync().get("changedDuringReplay").asInt());
                posts.incrementAndGet();
            }
        });
        AtomicBoolean savesDone = new AtomicBoolean();
        // until the last save: then the newest value of many fields is a parked one
        CompletableFuture<Void> flapper = CompletableFuture.runAsync(() -> {
            while (!savesDone.get()) {
                pause(100);
                execute("ALTER FUNCTION public.update_user_api_keys(uuid, text, jsonb, jsonb, jsonb) RENAME TO update_user_api_keys_away");
                pause(200);
                execute("ALTER FUNCTION public.update_user_api_keys_away(uuid, text, jsonb, jsonb, jsonb) RENAME TO update_user_api_keys");
            }
        });
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        for (int c = 0; c < 3; c++) {
            int client = c;
            clients.add(CompletableFuture.runAsync(() -> {
                for (int n = 0; n < SAVES_PER_CLIENT; n++) {
                    UUID user = users.get(ThreadLocalRandom.current().nextInt(USERS));
                    String field = ThreadLocalRandom.current().nextBoolean() ? "callAgentId" : "smsAgentId";
                    String value = "v" + client + "_" + n;
                    HttpResponse<String> r = put(tenant, user, "{\"" + field + "\":\"" + value + "\"}");
                    assertThat(r.statusCode()).as(r.body()).isIn(200, 202);
                    // stale: another client's save of the same field got a newer version and landed first
                    assertThat(json(r).get("status").asText()).as(r.body()).isIn("saved", "queued", "stale");
                    if (r.statusCode() == 202) {
                        parked.incrementAndGet();
                    }
                    acknowledged(user, field, value, json(r).get("version").asLong());
                }
            }));
        }
        CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get();
        savesDone.set(true);
        flapper.get();
        stop.set(true);
        poster.get();

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> users.stream().allMatch(u -> localEntry(tenant, u).isEmpty()));

        for (UUID user : users) {
            Map<String, Object> profile = profileRow(user).orElseThrow();
            Map<String, Object> settings = settingsRow(user).orElseThrow();
            for (String field : List.of("callAgentId", "smsAgentId")) {
                String column = field.equals("callAgentId") ? "call_agent_id" : "sms_agent_id";
                String expected = newestValue.get(user).get(field);
                long version = newestVersion.get(user).get(field)[0];
                assertThat(jsonOf(profile, "encrypted_agent_config").get(column).asText())
                        .as("user_profiles %s of %s", field, user).isEqualTo(expected);
                assertThat(jsonOf(settings, "retell_config").get(column).asText())
                        .as("user_settings %s of %s", field, user).isEqualTo(expected);
                assertThat(jsonOf(profile, "field_versions").get(field).asLong()).isEqualTo(version);
                assertThat(jsonOf(settings, "field_versions").get(field).asLong()).isEqualTo(version);
            }
        }
        assertThat(overlaps.get()).as("entries replayed by two passes at once").isZero();
        int changedAll = changedDuringReplay(logs.text().substring(logMark));
        changed.set(changedAll);
        LOG.info("SYNC-CONCURRENCY {} saves ({} parked while passes ran), {} POST /sync passes plus the scheduled "
                        + "ones; {} times a save was merged into an entry during its replay (kept for the next pass); newest value won in both tables",
                3 * SAVES_PER_CLIENT, parked.get(), posts.get(), changed.get());
    }

    /** Saves merged into entries while they were replayed, from the passes' log lines. */
    private static int changedDuringReplay(String log) {
        Matcher m = Pattern.compile("(\\d+) changed during replay").matcher(log);
        int changed = 0;
        while (m.find()) {
            changed += Integer.parseInt(m.group(1));
        }
        return changed;
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms); // the flapper's rhythm, not a wait for a condition
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
