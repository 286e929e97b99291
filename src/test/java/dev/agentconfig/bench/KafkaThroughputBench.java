package dev.agentconfig.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import dev.agentconfig.testing.KafkaBroker;
import dev.agentconfig.testing.ServiceTestSupport;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * Throughput of the Kafka door next to the HTTP door's, in one run on one embedded PostgreSQL: records/s
 * consumed into both tables (durable: an offset is committed only after both tables took the save), from
 * the first record sent to the last offset committed; then the same number of saves as HTTP PUTs, with 1
 * and with 8 clients. Not part of the suite (bench/ is excluded); run it with
 * {@code mvn -B test -Dtest=KafkaThroughputBench -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class KafkaThroughputBench extends ServiceTestSupport {
    private static final KafkaBroker BROKER = KafkaBroker.shared();
    private static final int SAVES = Integer.getInteger("bench.kafka.saves", 10_000);
    private static final int USERS = 500;
    private static final int PARTITIONS = Integer.getInteger("bench.kafka.partitions", 4);
    private static final int CONSUMERS = Integer.getInteger("bench.kafka.consumers", 2);
    private static final String topic = KafkaBroker.unique("bench-saves");
    private static final String group = KafkaBroker.unique("bench-group");

    @Override
    protected Properties extraProperties() {
        BROKER.createTopic(topic, PARTITIONS);
        BROKER.createTopic(topic + ".dlq", 1);
        Properties p = new Properties();
        p.setProperty("agentconfig.db.pool-size", "16");
        p.setProperty("agentconfig.kafka.bootstrap-servers", BROKER.bootstrapServers());
        p.setProperty("agentconfig.kafka.saves-topic", topic);
        p.setProperty("agentconfig.kafka.group-id", group);
        p.setProperty("agentconfig.kafka.consumers", String.valueOf(CONSUMERS));
        return p;
    }

    @Test
    void kafkaNextToHttp() throws Exception {
        List<String> rows = new ArrayList<>();
        String tenant = newTenant();
        // the group has joined: one record consumed
        UUID first = newUser();
        BROKER.send(topic, tenant + ":" + first, "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + first
                + "\",\"callAgentId\":\"warm\"}", null);
        await().atMost(Duration.ofSeconds(60)).until(() -> BROKER.allCommitted(group, topic));

        for (int round = 0; round < 2; round++) { // the first round warms up
            List<UUID> users = users();
            long base = Instant.now().toEpochMilli() - SAVES;
            long t0 = System.nanoTime();
            for (int i = 0; i < SAVES; i++) {
                UUID user = users.get(i % USERS);
                BROKER.producer().send(new ProducerRecord<>(topic, null, base + i, tenant + ":" + user,
                        body(tenant, user, i).getBytes(StandardCharsets.UTF_8)));
            }
            BROKER.producer().flush();
            double produced = (System.nanoTime() - t0) / 1e9;
            await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(50))
                    .until(() -> BROKER.allCommitted(group, topic));
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertThat(profileRow(users.get(0))).isPresent();
            if (round == 1) {
                rows.add(String.format(Locale.ROOT, "| save, Kafka record (%d partitions, %d consumer threads) | %,.0f "
                        + "records/s | %,d records in %.1f s (all sent in %.1f s) |", PARTITIONS, CONSUMERS,
                        SAVES / seconds, SAVES, seconds, produced));
            }
        }
        for (int clients : new int[] {1, 8}) {
            http(tenant, Math.min(SAVES, 2_000), clients); // warm-up
            List<UUID> users = users();
            long t0 = System.nanoTime();
            http(tenant, SAVES, clients, users);
            double seconds = (System.nanoTime() - t0) / 1e9;
            rows.add(String.format(Locale.ROOT, "| save, HTTP PUT (%d client%s) | %,.0f saves/s | %,d saves in %.1f s |",
                    clients, clients == 1 ? "" : "s", SAVES / seconds, SAVES, seconds));
        }
        System.out.println("\n| what | throughput | detail |\n|---|---|---|\n" + String.join("\n", rows) + "\n");
        org.slf4j.LoggerFactory.getLogger(KafkaThroughputBench.class).info("Kafka next to HTTP:\n{}", String.join("\n", rows));
    }

    private static List<UUID> users() {
        List<UUID> users = new ArrayList<>();
        for (int i = 0; i < USERS; i++) {
            users.add(UUID.randomUUID());
        }
        return users;
    }

    private static String body(String tenant, UUID user, int i) {
        return "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user + "\",\"callAgentId\":\"c" + i
                + "\",\"smsAgentId\":\"s" + i + "\"}";
    }

    private void http(String tenant, int saves, int clients) throws Exception {
        http(tenant, saves, clients, users());
    }

    private void http(String tenant, int saves, int clients, List<UUID> users) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
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
                    if (r.statusCode() != 200) {
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
