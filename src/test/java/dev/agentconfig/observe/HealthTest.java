package dev.agentconfig.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** /observe/health: one test per check, each made to fail for real. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HealthTest extends ServiceTestSupport {

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.health.max-pending-age", "2s");
        p.setProperty("agentconfig.sync.interval", "60m");
        return p;
    }

    @BeforeEach
    void healthy() {
        if (!embedded().running()) {
            startDatabase();
        }
        resetBreakers();
    }

    private HttpResponse<String> health() {
        // open: no token
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
    }

    private JsonNode check(HttpResponse<String> r, String name) {
        return json(r).get("checks").get(name);
    }

    @Test
    void allUpWhenEverythingWorks() {
        HttpResponse<String> r = health();
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("status").asText()).isEqualTo("UP");
        for (String name : new String[] {"database", "schema", "localStore", "backlog", "quarantine", "sync"}) {
            assertThat(check(r, name).get("status").asText()).as(name).isEqualTo("UP");
        }
        revealsNothingInternal(r);
    }

    /** Health is open: its answer names no file of the data directory and no Java exception. */
    private void revealsNothingInternal(HttpResponse<String> r) {
        assertThat(r.body()).doesNotContain(dataDir.toString()).doesNotContain("local-store")
                .doesNotContain("Exception").doesNotContain("java.").doesNotContain("org.");
    }

    /** What a flood of probes (and saves made meanwhile) got, and the most pool connections in use at once. */
    private record Flood(Map<String, Integer> probes, Map<String, Integer> saves, List<HttpResponse<String>> bodies,
                         int maxActiveConnections) {
    }

    private Flood flood(int probes, int saves) throws Exception {
        var pool = ((com.zaxxer.hikari.HikariDataSource) dataSource()).getHikariPoolMXBean();
        // HTTP/1.1, one connection per request: as many load balancers and clients at once
        var client = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        var executor = Executors.newFixedThreadPool(probes + saves);
        var start = new CountDownLatch(1);
        var sampling = new AtomicBoolean(true);
        var maxActive = new AtomicInteger();
        Thread sampler = new Thread(() -> {
            while (sampling.get()) {
                maxActive.accumulateAndGet(pool.getActiveConnections(), Math::max);
                Thread.onSpinWait();
            }
        });
        String tenant = newTenant();
        try {
            sampler.start();
            List<Future<HttpResponse<String>>> probeAnswers = new ArrayList<>();
            for (int i = 0; i < probes; i++) {
                probeAnswers.add(executor.submit(() -> {
                    start.await();
                    return client.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET().build(),
                            HttpResponse.BodyHandlers.ofString());
                }));
            }
            List<Future<HttpResponse<String>>> saveAnswers = new ArrayList<>();
            for (int i = 0; i < saves; i++) {
                String agent = "flood_" + i;
                saveAnswers.add(executor.submit(() -> {
                    start.await();
                    return client.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant
                                    + "/" + UUID.randomUUID()))
                            .header("Authorization", "Bearer " + serviceToken)
                            .header("Content-Type", "application/json")
                            .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"" + agent + "\"}")).build(),
                            HttpResponse.BodyHandlers.ofString());
                }));
            }
            start.countDown();
            Map<String, Integer> probed = new TreeMap<>();
            List<HttpResponse<String>> bodies = new ArrayList<>();
            for (var f : probeAnswers) {
                HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
                probed.merge(r.statusCode() + " " + json(r).get("status").asText(), 1, Integer::sum);
                bodies.add(r);
            }
            Map<String, Integer> saved = new TreeMap<>();
            for (var f : saveAnswers) {
                HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
                saved.merge(r.statusCode() + " " + json(r).get("status").asText(), 1, Integer::sum);
            }
            sampling.set(false);
            sampler.join();
            return new Flood(probed, saved, bodies, maxActive.get());
        } finally {
            sampling.set(false);
            executor.shutdownNow();
        }
    }

    /**
     * 96 probes at once: every one answers 200 UP (they used to race on one probe file and about
     * half answered 503) and together they hold at most one pool connection at a time (each used to
     * take one, and the pool has 10).
     */
    @Test
    void ninetySixParallelProbesAgreeAndMakeOneDatabaseRoundTripAtATime() throws Exception {
        Flood f = flood(96, 0);
        assertThat(f.probes()).as("probe answers").isEqualTo(Map.of("200 UP", 96));
        assertThat(f.maxActiveConnections()).as("pool connections in use at once").isLessThanOrEqualTo(1);
        f.bodies().forEach(this::revealsNothingInternal);
    }

    /** Saves made during a flood of probes find pool connections: all of them are saved, none queued. */
    @Test
    void savesMadeDuringAFloodOfProbesAreSaved() throws Exception {
        Flood f = flood(96, 8);
        assertThat(f.probes()).as("probe answers").isEqualTo(Map.of("200 UP", 96));
        assertThat(f.saves()).as("save answers").isEqualTo(Map.of("200 saved", 8));
    }

    @Test
    void databaseStoppedIsDownButSavesAreStillAccepted() {
        stopDatabase();
        try {
            HttpResponse<String> r = health();
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(json(r).get("status").asText()).isEqualTo("DOWN");
            assertThat(check(r, "database").get("status").asText()).isEqualTo("DOWN");
            assertThat(check(r, "database").get("detail").asText()).contains("unreachable");
            assertThat(json(r).get("acceptingSaves").asBoolean()).isTrue();
            revealsNothingInternal(r);
        } finally {
            startDatabase();
        }
        assertThat(health().statusCode()).isEqualTo(200);
    }

    @Test
    void aDroppedColumnIsNamed() {
        execute("ALTER TABLE public.user_settings DROP COLUMN api_key_updated_at");
        try {
            HttpResponse<String> r = health();
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(check(r, "schema").get("status").asText()).isEqualTo("DOWN");
            assertThat(check(r, "schema").get("detail").asText())
                    .contains("column public.user_settings.api_key_updated_at").contains("PGRST204");
        } finally {
            execute("ALTER TABLE public.user_settings ADD COLUMN api_key_updated_at timestamptz");
        }
        assertThat(check(health(), "schema").get("status").asText()).isEqualTo("UP");
    }

    @Test
    void theSeedsMissingConflictTargetIsNamed() {
        var constraint = query("SELECT conname FROM pg_constraint WHERE conrelid = 'public.user_profiles'::regclass "
                + "AND contype = 'p'").get(0).get("conname");
        execute("ALTER TABLE public.user_profiles DROP CONSTRAINT " + constraint + " CASCADE");
        try {
            HttpResponse<String> r = health();
            assertThat(check(r, "schema").get("detail").asText())
                    .contains("unique constraint on public.user_profiles(user_id)").contains("409");
        } finally {
            execute("ALTER TABLE public.user_profiles ADD PRIMARY KEY (user_id)");
        }
        assertThat(check(health(), "schema").get("status").asText()).isEqualTo("UP");
    }

    @Test
    void anUnwritableLocalStoreIsDownAndSavesAreNotAcceptedWithoutTheDatabase() throws Exception {
        Path store = dataDir.resolve("local-store");
        Path aside = dataDir.resolve("local-store.aside");
        Files.move(store, aside);
        Files.writeString(store, "a file where the directory should be");
        try {
            HttpResponse<String> r = health();
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(check(r, "localStore").get("status").asText()).isEqualTo("DOWN");
            assertThat(check(r, "localStore").get("detail").asText()).isEqualTo("not writable (see the service log)");
            revealsNothingInternal(r);
            stopDatabase();
            assertThat(json(health()).get("acceptingSaves").asBoolean()).isFalse();
        } finally {
            startDatabase();
            Files.delete(store);
            Files.move(aside, store);
        }
        assertThat(check(health(), "localStore").get("status").asText()).isEqualTo("UP");
    }

    @Test
    @Order(Integer.MAX_VALUE) // leaves a backlog and a quarantine behind: the others want a healthy service
    void anOldBacklogAndAQuarantineAreDown() {
        String tenant = newTenant();
        stopDatabase();
        try {
            assertThat(put(tenant, UUID.randomUUID(), "{\"callAgentId\":\"waiting\"}").statusCode()).isEqualTo(202);
            // the backlog check turns DOWN once the oldest entry is older than max-pending-age (2 s here)
            await().atMost(Duration.ofSeconds(15)).until(() ->
                    check(health(), "backlog").get("status").asText().equals("DOWN"));
            JsonNode backlog = check(health(), "backlog");
            assertThat(backlog.get("pending").asInt()).isGreaterThanOrEqualTo(1);
            assertThat(backlog.get("oldestPendingSeconds").asInt()).isGreaterThanOrEqualTo(2);
        } finally {
            startDatabase();
        }
        execute("ALTER TABLE public.user_settings ADD CONSTRAINT health_refuse CHECK "
                + "(retell_config ->> 'sms_agent_id' IS DISTINCT FROM 'refused')");
        try {
            resetBreakers();
            assertThat(json(put(tenant, UUID.randomUUID(), "{\"smsAgentId\":\"refused\"}")).get("status").asText())
                    .isEqualTo("quarantined");
            JsonNode quarantine = check(health(), "quarantine");
            assertThat(quarantine.get("status").asText()).isEqualTo("DOWN");
            assertThat(quarantine.get("quarantined").asInt()).isEqualTo(1);
        } finally {
            execute("ALTER TABLE public.user_settings DROP CONSTRAINT health_refuse");
        }
    }
}
