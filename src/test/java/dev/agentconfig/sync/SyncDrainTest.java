package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.json.Json;
import io.micrometer.core.instrument.search.Search;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The product promise of the sync, end to end over HTTP with the scheduled pass (every 2 s here):
 * the database is stopped, 1,000 saves are queued in the local store, the database is started,
 * and with no further traffic every save reaches both tables, leaving the local store empty: every
 * entry was due when the database came back (the skipped passes charged no backoff) and no pass
 * after it charged one either (none failed, none retrying). How soon, and the drain rate, are logged
 * (SYNC-DRAIN ...), not asserted: speed is the benchmark's.
 */
class SyncDrainTest extends SyncTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(SyncDrainTest.class);
    private static final int SAVES = 1000;
    private static final Duration INTERVAL = Duration.ofSeconds(2);
    /** A pass line's partial, retrying, quarantined and failed counts. */
    private static final Pattern CHARGED = Pattern.compile(
            "Sync pass: started .*? (\\d+) partial, (\\d+) retrying, (\\d+) quarantined, .*? deferred, (\\d+) failed;");
    private static final Pattern PASS_LINE = Pattern.compile("Sync pass: started (\\S+), (\\d+) due, (\\d+) replayed: (\\d+) drained.*; (\\d+) ms \\(");

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.sync.interval", INTERVAL.toMillis() + "ms");
        p.setProperty("agentconfig.sync.initial-delay", INTERVAL.toMillis() + "ms");
        return p;
    }

    @Test
    void thousandSavesQueuedDuringAnOutageAllReachBothTablesWithinTwoIntervalsOfTheDatabaseComingBack()
            throws Exception {
        String tenant = newTenant();
        Map<UUID, Long> versions = new ConcurrentHashMap<>();
        stopDatabase();
        long t0 = System.nanoTime();
        ExecutorService clients = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> saves = new ArrayList<>();
            for (int i = 0; i < SAVES; i++) {
                int n = i;
                saves.add(clients.submit(() -> {
                    UUID user = newUser();
                    HttpResponse<String> r = put(tenant, user, "{\"retellApiKey\":\"" + newKey()
                            + "\",\"callAgentId\":\"c_" + n + "\",\"smsAgentId\":\"s_" + n + "\"}");
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
                    assertThat(json(r).get("status").asText()).isEqualTo("queued");
                    versions.put(user, json(r).get("version").asLong());
                }));
            }
            for (Future<?> f : saves) {
                f.get();
            }
        } finally {
            clients.shutdown();
        }
        long queuedMs = (System.nanoTime() - t0) / 1_000_000;
        assertThat(countFiles(dataDir.resolve("local-store").resolve(tenant))).isEqualTo(SAVES);
        assertThat(gauge("agentconfig.sync.pending.entries")).isEqualTo(SAVES);
        // at least one scheduled pass ran during the outage and was skipped without charging any entry
        await().atMost(Duration.ofSeconds(60)).until(() -> passes("skipped-unreachable") > 0);
        int logMark = logs.text().length();
        // nothing pushed any entry later: each is due now, at its first attempt (the save's)
        Instant beforeBack = Instant.now();
        for (JsonNode entry : entries(dataDir.resolve("local-store").resolve(tenant))) {
            assertThat(entry.get("attempts").asInt()).as(entry.toString()).isEqualTo(1);
            assertThat(Instant.parse(entry.get("nextAttemptAt").asText())).as(entry.toString()).isBeforeOrEqualTo(beforeBack);
        }

        startDatabase();
        long back = System.nanoTime();
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> countFiles(dataDir.resolve("local-store").resolve(tenant)) == 0);
        long drainedMs = (System.nanoTime() - back) / 1_000_000;

        // every save is in both tables, at its own version
        Map<UUID, Map<String, Object>> profiles = byUser(query(
                "SELECT user_id, encrypted_retell_api_key AS k, encrypted_agent_config->>'call_agent_id' AS c, "
                        + "(field_versions->>'callAgentId')::bigint AS v FROM public.user_profiles WHERE tenant_id = ?", tenant));
        Map<UUID, Map<String, Object>> settings = byUser(query(
                "SELECT user_id, encrypted_api_keys->>'retell_api_key' AS k, retell_config->>'sms_agent_id' AS s, "
                        + "(field_versions->>'smsAgentId')::bigint AS v FROM public.user_settings WHERE tenant_id = ?", tenant));
        assertThat(profiles.keySet()).isEqualTo(versions.keySet());
        assertThat(settings.keySet()).isEqualTo(versions.keySet());
        versions.forEach((user, version) -> {
            assertThat(profiles.get(user).get("v")).isEqualTo(version);
            assertThat(settings.get(user).get("v")).isEqualTo(version);
            assertThat(text(profiles.get(user), "k")).startsWith("v1:").isEqualTo(text(settings.get(user), "k"));
        });
        assertThat(gauge("agentconfig.sync.pending.entries")).isZero();
        assertThat(gauge("agentconfig.sync.oldest.pending.age")).isZero();

        // the passes after the database came back, from their log lines (logged once a pass ends)
        await().atMost(Duration.ofSeconds(30)).until(() -> drainedInLog(logMark) == SAVES);
        int passes = 0;
        long passMs = 0;
        int drained = 0;
        Matcher m = PASS_LINE.matcher(logs.text().substring(logMark));
        while (m.find()) {
            passes++;
            drained += Integer.parseInt(m.group(4));
            passMs += Long.parseLong(m.group(5));
        }
        assertThat(drained).isEqualTo(SAVES);
        // no pass after the database came back charged an entry: none failed, none was given a backoff that would
        // push it later (a pass that finds the database still coming up defers its entries uncharged)
        Matcher charged = CHARGED.matcher(logs.text().substring(logMark));
        int counted = 0;
        while (charged.find()) {
            counted++;
            for (int g = 1; g <= 4; g++) {
                assertThat(Integer.parseInt(charged.group(g))).as(charged.group()).isZero();
            }
        }
        assertThat(counted).as("pass lines").isEqualTo(passes);
        LOG.info("SYNC-DRAIN {} saves queued over HTTP in {} ms; database back -> local store empty in {} ms "
                        + "(sync interval {} ms); {} pass(es) replayed them in {} ms: {} entries/s",
                SAVES, queuedMs, drainedMs, INTERVAL.toMillis(), passes, passMs,
                String.format(java.util.Locale.ROOT, "%.0f", SAVES * 1000.0 / Math.max(passMs, 1)));
    }

    private static List<JsonNode> entries(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<JsonNode> all = new ArrayList<>();
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".json")).toList()) {
                all.add(Json.tree(Files.readString(f)));
            }
            return all;
        }
    }

    private int drainedInLog(int from) {
        int drained = 0;
        Matcher m = PASS_LINE.matcher(logs.text().substring(from));
        while (m.find()) {
            drained += Integer.parseInt(m.group(4));
        }
        return drained;
    }

    private double passes(String outcome) {
        var c = Search.in(meters()).name("agentconfig.sync.passes").tag("outcome", outcome).counter();
        return c == null ? 0 : c.count();
    }

    private static Map<UUID, Map<String, Object>> byUser(List<Map<String, Object>> rows) {
        Map<UUID, Map<String, Object>> m = new HashMap<>();
        rows.forEach(r -> m.put((UUID) r.get("user_id"), r));
        return m;
    }

    private static long countFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".json")).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
