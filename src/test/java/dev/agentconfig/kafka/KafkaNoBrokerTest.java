package dev.agentconfig.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Properties;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 21, item 4: Kafka configured, no broker at the address. The {@code kafka} check is DOWN once the
 * consumers have had no connection for agentconfig.kafka.health.unreachable-after, counted from when they
 * started (not from the first health request), with the cause as its last error; the log gets one summary
 * line per agentconfig.log.summary-interval instead of the Kafka client's ~18 warnings a second.
 */
class KafkaNoBrokerTest extends ServiceTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaNoBrokerTest.class);
    // static: CamelTestSupport asks for the properties from its constructor
    private static final int DEAD_PORT = freePort();
    private static final String SUMMARY = "Kafka: no connection to the brokers for";

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.kafka.bootstrap-servers", "127.0.0.1:" + DEAD_PORT);
        p.setProperty("agentconfig.kafka.health.unreachable-after", "2s");
        p.setProperty("agentconfig.log.summary-interval", "2s");
        return p;
    }

    @Test
    void theFirstHealthRequestAfterTheDocumentedTimeIsDownWithTheCauseAndTheClientsRetriesAreSummarized() {
        // nobody asked for health yet; the summary line says the consumers have had no connection for an
        // interval (2 s, as long as unreachable-after)
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(() -> count(0, SUMMARY) >= 1);
        int mark = logs.lines().size();
        long t0 = System.nanoTime();
        // before: the check counted from the first request, so this one said UP (and lastError stayed null)
        JsonNode kafka = kafka();
        assertThat(kafka.get("status").asText()).as(kafka.toString()).isEqualTo("DOWN");
        assertThat(kafka.get("detail").asText()).contains("no connection to the Kafka brokers")
                .contains("connection refused at 127.0.0.1:" + DEAD_PORT);
        assertThat(kafka.get("lastError").asText()).contains("connection refused at 127.0.0.1:" + DEAD_PORT);
        assertThat(kafka.get("lastErrorAt").isTextual()).isTrue();

        // two more intervals: one summary line each, and at most one line of the Kafka client per 10 s
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> count(mark, SUMMARY) >= 2);
        double seconds = (System.nanoTime() - t0) / 1e9;
        List<String> window = logs.lines().subList(mark, logs.lines().size());
        long clientLines = window.stream().filter(KafkaNoBrokerTest::fromKafkaClient).count();
        long ours = window.stream().filter(l -> l.contains(SUMMARY)).count();
        LOG.info("FIGURE Kafka without a broker: {} Kafka client lines and {} summary lines in {} s", clientLines, ours,
                String.format(java.util.Locale.ROOT, "%.1f", seconds));
        assertThat(ours).as(String.join("\n", window)).isBetween(2L, (long) Math.ceil(seconds / 2) + 1);
        // the burst filter lets one WARN/INFO line per 10 s through (before: ~18 a second)
        assertThat(clientLines).as(String.join("\n", window)).isLessThanOrEqualTo((long) Math.ceil(seconds / 10) + 1);
        // the fault is real: still no connection, still the same cause
        assertThat(kafka().get("status").asText()).isEqualTo("DOWN");
    }

    private static boolean fromKafkaClient(String line) {
        String[] parts = line.split(" ", 3);
        return parts.length > 1 && parts[1].startsWith("org.apache.kafka");
    }

    private int count(int from, String needle) {
        List<String> lines = logs.lines();
        return (int) lines.subList(Math.min(from, lines.size()), lines.size()).stream().filter(l -> l.contains(needle)).count();
    }

    private JsonNode kafka() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
        return json(r).get("checks").get("kafka");
    }
}
