package dev.agentconfig.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.UUID;

import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * Kafka is off by default (agentconfig.kafka.bootstrap-servers empty): no broker is needed, no Kafka
 * route is loaded, no Kafka bean or client exists, no Kafka thread runs, health has no kafka check, and
 * a save is answered as before.
 */
class KafkaOffTest extends ServiceTestSupport {

    @Test
    void withoutBootstrapServersNothingOfKafkaRuns() {
        HttpResponse<String> saved = put(newTenant(), UUID.randomUUID(), "{\"callAgentId\":\"no_kafka\"}");
        assertThat(saved.statusCode()).as(saved.body()).isEqualTo(200);

        assertThat(context.getRoute("kafka-saves")).isNull();
        assertThat(context.getRoute("kafka-dead-letter")).isNull();
        assertThat(context.getRegistry().lookupByName("kafkaDoor")).isNull();
        assertThat(context.getRegistry().lookupByName("kafkaClients")).isNull();
        assertThat(context.getRegistry().findByType(org.apache.camel.health.HealthCheck.class)).isEmpty();
        assertThat(context.hasComponent("kafka")).isNull();
        // the service's Kafka threads would be its consumers', their heartbeats' and the change feed's (a
        // test broker of another class may run in this JVM: its own threads are not the service's)
        assertThat(Thread.getAllStackTraces().keySet()).extracting(Thread::getName)
                .noneMatch(n -> n.contains("KafkaConsumer[") || n.startsWith("kafka-coordinator-heartbeat-thread")
                        || n.contains("kafka-change-feed"));
        HttpResponse<String> health = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
        assertThat(json(health).get("checks").has("kafka")).isFalse();
    }
}
