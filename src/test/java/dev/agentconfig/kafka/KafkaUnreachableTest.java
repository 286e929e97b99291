package dev.agentconfig.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * Kafka on, but no broker answers: the service starts, saves over HTTP are answered as fast as ever
 * (the change feed only offers to its bounded queue; beyond it changes are dropped and counted), and
 * the health check kafka turns DOWN after agentconfig.kafka.health.unreachable-after.
 */
class KafkaUnreachableTest extends ServiceTestSupport {
    // static: CamelTestSupport asks for the properties from its constructor
    private static final int DEAD_PORT = freePort();
    /** The change feed's producer leaves max.block.ms at Kafka's default. */
    private static final Duration PRODUCER_MAX_BLOCK = Duration.ofSeconds(60);

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.kafka.bootstrap-servers", "127.0.0.1:" + DEAD_PORT);
        p.setProperty("agentconfig.kafka.events-topic", "events-nowhere");
        p.setProperty("agentconfig.kafka.events-queue", "5");
        p.setProperty("agentconfig.kafka.health.unreachable-after", "2s");
        return p;
    }

    @Test
    void savesDoNotWaitForAnUnreachableBrokerAndHealthSaysSo() {
        String tenant = newTenant();
        long t0 = System.nanoTime();
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> r = put(tenant, UUID.randomUUID(), "{\"callAgentId\":\"c" + i + "\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(json(r).get("status").asText()).isEqualTo("saved");
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        // the producer blocks up to max.block.ms (60 s, Kafka's default) on the first send's metadata: a save that
        // waited for it would take that long, so the 20 together come in under half of one such wait (a bound
        // about the broker's timeout, not about speed: the saves' latency is the benchmark's)
        assertThat(ms).as("20 saves took %d ms", ms).isLessThan(PRODUCER_MAX_BLOCK.dividedBy(2).toMillis());
        HttpResponse<String> metrics = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/metrics"))
                .header("Authorization", "Bearer " + serviceToken).GET());
        // 20 changes, at most 5 waiting and 1 in the feed's hands: the rest dropped and counted
        assertThat(metrics.body()).contains("agentconfig_kafka_events_dropped_total{reason=\"queue-full\"}");
        await().atMost(Duration.ofSeconds(30)).until(() -> kafka().get("status").asText().equals("DOWN"));
        JsonNode kafka = kafka();
        assertThat(kafka.get("detail").asText()).contains("no connection to the Kafka brokers");
        assertThat(kafka.get("eventsDropped").asLong()).isGreaterThanOrEqualTo(14);
        assertThat(kafka.get("assignedPartitions").asInt()).isZero();
    }

    private JsonNode kafka() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
        return json(r).get("checks").get("kafka");
    }
}
