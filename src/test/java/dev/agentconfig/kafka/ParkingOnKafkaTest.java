package dev.agentconfig.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.testing.KafkaBroker;
import dev.agentconfig.testing.ServiceTestSupport;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * agentconfig.parking=kafka against a real broker (an in-process KRaft node) and the embedded PostgreSQL: a save
 * the database cannot take is parked on the parking topic (acknowledged by the broker before the 202), not in the
 * local store; the consumer group drains the topic into both tables when the database is back, committing the
 * offsets only then.
 */
class ParkingOnKafkaTest extends ServiceTestSupport {
    private static final KafkaBroker BROKER = KafkaBroker.shared();
    private static final String topic = KafkaBroker.unique("parked");
    private static final String group = KafkaBroker.unique("drain");

    @Override
    protected Properties extraProperties() {
        BROKER.createTopic(topic, 2);
        BROKER.createTopic(topic + ".dlq", 1);
        Properties p = new Properties();
        p.setProperty("agentconfig.kafka.bootstrap-servers", BROKER.bootstrapServers());
        // the front door's topic is not created: this class is about parking
        p.setProperty("agentconfig.kafka.saves-topic", KafkaBroker.unique("saves-unused"));
        p.setProperty("agentconfig.parking", "kafka");
        p.setProperty("agentconfig.kafka.parked-topic", topic);
        p.setProperty("agentconfig.kafka.parked-group-id", group);
        p.setProperty("agentconfig.kafka.session-timeout", "6000");
        p.setProperty("agentconfig.kafka.parked-poll-timeout", "200");
        p.setProperty("agentconfig.sync.backoff-base", "200ms");
        p.setProperty("agentconfig.sync.backoff-max", "1s");
        return p;
    }

    @BeforeEach
    void healthy() {
        if (!embedded().running()) {
            startDatabase();
        }
        resetBreakers();
    }

    private List<ConsumerRecord<String, byte[]>> parkedOf(UUID user) {
        return BROKER.records(topic).stream().filter(r -> r.key().endsWith(":" + user)).toList();
    }

    @Test
    void withTheDatabaseDownASaveIsParkedOnTheTopicNotOnThisInstancesDisk() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        stopDatabase();
        List<HttpResponse<String>> answers = new ArrayList<>();
        try {
            answers.add(put(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"c_first\"}"));
            answers.add(put(tenant, user, "{\"callAgentId\":\"c_second\"}"));

            // the fault happened: the database is away (the saves were not written)
            assertThat(embedded().running()).isFalse();
            for (HttpResponse<String> r : answers) {
                assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
                assertThat(json(r).get("status").asText()).isEqualTo("queued");
            }
            // on the topic, before the answer: one record per save, in order, keyed tenant:user
            List<ConsumerRecord<String, byte[]>> records = parkedOf(user);
            assertThat(records).hasSize(2);
            assertThat(records.get(0).key()).isEqualTo(tenant + ":" + user);
            assertThat(records.get(0).partition()).isEqualTo(records.get(1).partition());
            assertThat(records.get(0).offset()).isLessThan(records.get(1).offset());
            PendingEntry first = ParkedRecords.decode(records.get(0).value());
            assertThat(first.tenantId()).isEqualTo(tenant);
            assertThat(first.pendingTargets()).containsExactly("user_profiles", "user_settings");
            assertThat(first.fields().get("callAgentId").value()).isEqualTo("c_first");
            // the key sealed: its envelope, never the plaintext, in the record's bytes
            assertThat(first.fields().get("retellApiKey").value()).startsWith("v1:");
            assertThat(new String(records.get(0).value(), StandardCharsets.UTF_8)).doesNotContain(key);
            PendingEntry second = ParkedRecords.decode(records.get(1).value());
            assertThat(second.fields()).containsOnlyKeys("callAgentId");
            assertThat(second.fields().get("callAgentId").version())
                    .isGreaterThan(first.fields().get("callAgentId").version());
            // nothing on this instance's disk
            assertThat(localEntry(tenant, user)).isEmpty();
        } finally {
            startDatabase();
        }
        assertNotInDataDir(key);
    }
}
