package dev.agentconfig.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import dev.agentconfig.store.LocalStore;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * Parking throughput and drain time, the local store next to the Kafka parking topic, in one run of one JVM
 * ({@code ParkingCostLocal} then {@code ParkingCostKafka}): the database stopped, {@value #SAVES} HTTP PUTs by
 * {@value #CLIENTS} clients for {@value #USERS} users, every one answered 202 (parked); then the database started
 * and the time until every parked save is in both tables (local: the store empty; kafka: every offset of the
 * drain group committed). Not part of the suite (bench/ is excluded); run it with
 * {@code mvn -B -o -Dtest='ParkingCostLocal,ParkingCostKafka' -Dsurefire.runOrder=alphabetical
 * -Dsurefire.failIfNoSpecifiedTests=false test}.
 */
abstract class ParkingCost extends ServiceTestSupport {
    static final int SAVES = 4_000;
    static final int USERS = 1_000;
    static final int CLIENTS = 8;

    /** The mode's own keys. */
    abstract Properties parking();

    /** True once every parked save is in both tables. */
    abstract boolean drained();

    abstract String mode();

    @Override
    protected Properties extraProperties() {
        Properties p = parking();
        p.setProperty("agentconfig.db.pool-size", "16");
        p.setProperty("agentconfig.db.connect-timeout", "400ms");
        p.setProperty("agentconfig.breaker.probe-interval", "250ms");
        p.setProperty("agentconfig.sync.interval", "250ms");
        return p;
    }

    long localPending() {
        return context.getRegistry().lookupByNameAndType("localStore", LocalStore.class).pendingCount();
    }

    @Test
    void parkThenDrain() throws Exception {
        String tenant = newTenant();
        List<UUID> users = new ArrayList<>();
        for (int i = 0; i < USERS; i++) {
            users.add(UUID.randomUUID());
        }
        put(tenant, users.get(0), "{\"callAgentId\":\"warm\"}");
        stopDatabase();
        run(tenant, users, 500); // warm-up: the breaker opens, the parking path is hot
        long t0 = System.nanoTime();
        run(tenant, users, SAVES);
        double parkSeconds = (System.nanoTime() - t0) / 1e9;
        startDatabase();
        long t1 = System.nanoTime();
        await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(50)).until(this::drained);
        double drainSeconds = (System.nanoTime() - t1) / 1e9;
        assertThat(profileRow(users.get(USERS - 1))).isPresent();
        String row = String.format(Locale.ROOT, "| %s | %,.0f saves/s (%,d saves in %.1f s, %d clients) | %.1f s "
                + "(%,.0f saves/s) |", mode(), SAVES / parkSeconds, SAVES, parkSeconds, CLIENTS, drainSeconds,
                (SAVES + 500) / drainSeconds);
        System.out.println("FIGURE parking\n" + row);
        org.slf4j.LoggerFactory.getLogger(ParkingCost.class).info("FIGURE parking {}", row);
    }

    private void run(String tenant, List<UUID> users, int saves) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            done.add(pool.submit(() -> {
                int i;
                while ((i = next.getAndIncrement()) < saves) {
                    UUID user = users.get(i % USERS);
                    HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(baseUrl()
                                    + "/api/v1/agent-config/" + tenant + "/" + user))
                            .header("Authorization", "Bearer " + serviceToken)
                            .header("Content-Type", "application/json")
                            .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"c" + i + "\",\"smsAgentId\":\"s"
                                    + i + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() != 202) {
                        throw new AssertionError(r.statusCode() + " " + r.body());
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
    }
}
