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
import dev.agentconfig.testing.KafkaBroker;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * The diagnostics report with agentconfig.parking=kafka (a real broker, the embedded PostgreSQL): its "parking"
 * part says the mode, this instance's counts (parked on Kafka, fell back locally, drained, dead-lettered) and the
 * drain group's lag of the parking topic; while the database is away its summary says the saves wait on the topic,
 * not "on this server"; the page renders that part.
 */
class DiagnosticsParkingTest extends ServiceTestSupport {
    private static final KafkaBroker BROKER = KafkaBroker.shared();
    private static final String topic = KafkaBroker.unique("parked-diag");
    private static final String group = KafkaBroker.unique("drain-diag");

    @Override
    protected Properties extraProperties() {
        Properties p = BROKER.parkingOnKafka(topic, group, 2);
        p.setProperty("agentconfig.kafka.parked-poll-timeout", "200");
        p.setProperty("agentconfig.kafka.parked-lag-ttl", "200ms");
        // as in ParkedReadTest: on a loaded machine the view's round can exceed the production 500 ms, and the
        // report then (rightly) asks for attention for a location that did not answer
        p.setProperty("agentconfig.kafka.parked-view.read-wait", "5s");
        p.setProperty("agentconfig.read.timeout", "10000");
        p.setProperty("agentconfig.sync.backoff-base", "200ms");
        p.setProperty("agentconfig.sync.backoff-max", "1s");
        return p;
    }

    @Test
    void theReportShowsParkingOnKafkaItsCountsAndTheTopicsLag() {
        String tenant = newTenant();
        UUID user = newUser();
        stopDatabase();
        try {
            HttpResponse<String> saved = put(tenant, user, "{\"callAgentId\":\"c_parked\"}");
            assertThat(saved.statusCode()).as(saved.body()).isEqualTo(202);
            // the fault happened: the database is away, the save is on the topic and not on this instance's disk
            assertThat(embedded().running()).isFalse();
            assertThat(BROKER.records(topic).stream().filter(r -> r.key().endsWith(":" + user))).hasSize(1);
            assertThat(localEntry(tenant, user)).isEmpty();

            // the lag is cached and refreshed in the background: awaited, not slept for
            await().atMost(Duration.ofSeconds(30)).until(() -> diagnostics(tenant, user).get("parking").path("topicLag")
                    .asLong(-1) >= 1);
            JsonNode report = diagnostics(tenant, user);
            JsonNode parking = report.get("parking");
            assertThat(parking.get("mode").asText()).isEqualTo("kafka");
            assertThat(parking.get("place").asText()).isEqualTo("Kafka topic " + topic);
            assertThat(parking.get("parkedOnKafka").asLong()).isEqualTo(1);
            assertThat(parking.get("fellBackLocally").asLong()).isZero();
            assertThat(parking.get("drained").asLong()).isZero();
            assertThat(parking.get("deadLettered").asLong()).isZero();
            JsonNode summary = report.get("summary");
            assertThat(summary.get("state").asText()).isEqualTo("database-unreachable");
            assertThat(summary.get("text").asText())
                    .contains("Saves are parked on Kafka topic " + topic + " (1 not drained yet; 1 parked by this "
                            + "instance, 0 fell back to its local store, 0 waiting there)")
                    .doesNotContain("Saves are kept on this server");
        } finally {
            startDatabase();
        }
        // drained by the group: the count follows, the lag falls to 0
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            JsonNode p = diagnostics(tenant, user).get("parking");
            return p.get("drained").asLong() == 1 && p.path("topicLag").asLong(-1) == 0;
        });
        JsonNode report = diagnostics(tenant, user);
        assertThat(report.get("summary").get("state").asText()).as(report.toString()).isEqualTo("ok");
        assertThat(report.get("merged").get("callAgentId").asText()).isEqualTo("c_parked");
        // the page renders that part (its element and the script that fills it from the report)
        HttpResponse<String> page = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/diagnostics")).GET());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("<p id=\"parking\"></p>").contains("renderParking(answer.body)");
    }

    private JsonNode diagnostics(String tenant, UUID user) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant
                + "/" + user + "/diagnostics")).header("Authorization", "Bearer " + serviceToken).GET());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r);
    }
}
