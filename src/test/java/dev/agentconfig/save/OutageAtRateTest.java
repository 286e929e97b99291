package dev.agentconfig.save;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import dev.agentconfig.store.Disk;
import dev.agentconfig.testing.ServiceTestSupport;
import org.apache.camel.spi.Registry;
import org.apache.camel.support.DefaultRegistry;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An outage at production rates: 2,000 saves for distinct users at 8 clients while the database is
 * stopped. Every one is acknowledged (202) and parked with one durable write each; the log says it in a
 * handful of lines, not one per save; when the database returns, the backlog drains at once (not at the
 * next scheduled pass: the interval here is the default 10 s) into both tables.
 */
class OutageAtRateTest extends ServiceTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(OutageAtRateTest.class);
    private static final int SAVES = 2_000;
    private static final int CLIENTS = 8;

    /** Counts the writes of each entry file (the temp file written, then renamed over the entry). */
    private final Map<String, AtomicInteger> writes = new ConcurrentHashMap<>();

    @Override
    protected Registry createCamelRegistry() {
        Disk real = Disk.system();
        Registry registry = new DefaultRegistry();
        registry.bind("localStoreDisk", new Disk() {
            @Override
            public void write(Path file, byte[] bytes) throws IOException {
                writes.computeIfAbsent(file.getFileName().toString(), k -> new AtomicInteger()).incrementAndGet();
                real.write(file, bytes);
            }

            @Override
            public void force(Path file) throws IOException {
                real.force(file);
            }

            @Override
            public void move(Path from, Path to) throws IOException {
                real.move(from, to);
            }

            @Override
            public void forceDirectory(Path dir) throws IOException {
                real.forceDirectory(dir);
            }
        });
        return registry;
    }

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        // the defaults of config/application.properties: the drain must not wait for the timer
        p.setProperty("agentconfig.sync.interval", "10s");
        p.setProperty("agentconfig.sync.initial-delay", "10s");
        p.setProperty("agentconfig.db.connect-timeout", "1000ms");
        p.setProperty("agentconfig.breaker.probe-interval", "1s");
        return p;
    }

    @Test
    void twoThousandSavesDuringAnOutageAreParkedOnceEachQuietlyAndDrainWhenTheDatabaseReturns() throws Exception {
        String tenant = newTenant();
        List<UUID> users = new ArrayList<>();
        for (int i = 0; i < SAVES; i++) {
            users.add(newUser());
        }
        stopDatabase();
        int logMark = logs.lines().size();
        long t0 = System.nanoTime();
        List<long[]> latencies = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        try {
            List<Future<long[]>> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                int client = c;
                clients.add(pool.submit(() -> {
                    long[] took = new long[SAVES / CLIENTS];
                    for (int i = 0; i < took.length; i++) {
                        UUID user = users.get(client * took.length + i);
                        long s = System.nanoTime();
                        HttpResponse<String> r = put(tenant, user,
                                "{\"callAgentId\":\"c_" + user + "\",\"smsAgentId\":\"s_" + i + "\"}");
                        took[i] = System.nanoTime() - s;
                        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
                        assertThat(json(r).get("status").asText()).isEqualTo("queued");
                    }
                    return took;
                }));
            }
            for (Future<long[]> f : clients) {
                latencies.add(f.get());
            }
        } finally {
            pool.shutdown();
        }
        long outageNanos = System.nanoTime() - t0;
        List<String> duringOutage = logs.lines().subList(logMark, logs.lines().size());

        // every save is in the local store, each entry written exactly once (both targets in one write)
        for (UUID user : users) {
            assertThat(localEntry(tenant, user)).as("entry of %s", user).isPresent();
            assertThat(writes.get("." + user + ".json.tmp")).as("writes of %s", user).hasValue(1);
        }
        // a handful of WARN lines, not one or two per save
        // (the Kafka client's own lines are left out: a Kafka test class earlier in the same JVM may still have a
        // client retrying its stopped broker; this service runs without Kafka)
        List<String> warnings = duringOutage.stream().filter(l -> l.startsWith("WARN") || l.startsWith("ERROR"))
                .filter(l -> !l.contains(" org.apache.kafka.")).toList();
        assertThat(warnings).as(String.join("\n", warnings)).hasSizeLessThanOrEqualTo(8);
        assertThat(String.join("\n", warnings)).contains("parked in the local store");

        long back = System.nanoTime();
        startDatabase();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> count("user_profiles", tenant) == SAVES && count("user_settings", tenant) == SAVES);
        double drained = (System.nanoTime() - back) / 1e9;
        await().atMost(Duration.ofSeconds(30)).until(() -> users.stream().allMatch(u -> localEntry(tenant, u).isEmpty()));
        assertThat(logs.text()).contains("drained " + SAVES + " entries in");

        long[] all = latencies.stream().flatMapToLong(java.util.Arrays::stream).sorted().toArray();
        LOG.info("OUTAGE-AT-RATE {} saves at {} clients with the database stopped: {} saves/s, p50 {} ms, p99 {} ms, "
                        + "max {} ms; {} WARN/ERROR lines; database back -> all in both tables after {} s",
                SAVES, CLIENTS, Math.round(SAVES / (outageNanos / 1e9)), ms(all, 50), ms(all, 99), ms(all, 100),
                warnings.size(), String.format(java.util.Locale.ROOT, "%.2f", drained));
    }

    private long count(String table, String tenant) {
        return ((Number) query("SELECT count(*) AS n FROM public." + table + " WHERE tenant_id = ?", tenant)
                .get(0).get("n")).longValue();
    }

    private static String ms(long[] sorted, int percentile) {
        int i = Math.min(sorted.length - 1, (int) Math.ceil(percentile / 100.0 * sorted.length) - 1);
        return String.format(java.util.Locale.ROOT, "%.1f", sorted[Math.max(0, i)] / 1e6);
    }
}
