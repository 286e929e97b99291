package dev.agentconfig.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

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
        Properties p = BROKER.parkingOnKafka(topic, group, 2);
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
        // the database back: the group drains both records, in order (the newer value wins), commits to the end
        long secondVersion = ParkedRecords.decode(parkedOf(user).get(1).value()).fields().get("callAgentId").version();
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
            assertThat(callAgentId("user_profiles", user)).isEqualTo("c_second");
            assertThat(callAgentId("user_settings", user)).isEqualTo("c_second");
        });
        for (String table : List.of("user_profiles", "user_settings")) {
            assertThat(version(table, user, "callAgentId")).as(table).isEqualTo(secondVersion);
            assertThat(version(table, user, "retellApiKey")).as(table).isPositive();
        }
        assertThat(cipher().open(String.valueOf(profileRow(user).orElseThrow().get("encrypted_retell_api_key")),
                tenant + ":" + user + ":retellApiKey")).isEqualTo(key);
        await().atMost(Duration.ofSeconds(30)).until(() -> BROKER.allCommitted(group, topic));
        assertThat(localEntry(tenant, user)).isEmpty();
        assertNotInDataDir(key);
    }

    @Test
    void whileTheDatabaseIsDownTheDrainWaitsPausedAndResumesWhenItIsBack() {
        String tenant = newTenant();
        UUID user = newUser();
        stopDatabase();
        try {
            assertThat(put(tenant, user, "{\"smsAgentId\":\"s_waits\"}").statusCode()).isEqualTo(202);
            // the drain met the record and paused its partition, instead of polling it again and again
            await().atMost(Duration.ofSeconds(30)).until(() -> !parkingHealth().get("pausedPartitions").isEmpty());
            long replays = parkingHealth().get("replays").asLong();
            long holds = parkingHealth().get("holds").asLong();
            // over a few probe rounds (the probe asks every 200 ms): no write tried, no record taken up again
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).until(() ->
                    parkingHealth().get("replays").asLong() == replays && parkingHealth().get("holds").asLong() == holds);
            // the fault happened: the database is away
            assertThat(embedded().running()).isFalse();
        } finally {
            startDatabase();
        }
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() ->
                assertThat(json((String) settingsRow(user).orElseThrow().get("retell_config")).get("sms_agent_id")
                        .asText()).isEqualTo("s_waits"));
        await().atMost(Duration.ofSeconds(30)).until(() -> parkingHealth().get("pausedPartitions").isEmpty()
                && BROKER.allCommitted(group, topic));
        JsonNode health = parkingHealth();
        assertThat(health.get("mode").asText()).isEqualTo("kafka");
        assertThat(health.get("drained").asLong()).isPositive();
        assertThat(health.get("parkedOnKafka").asLong()).isPositive();
    }

    @Test
    void aParkedSaveTheDatabaseRefusesGoesToTheDeadLetterTopicAndTheOthersDrain() {
        String tenant = newTenant();
        UUID good = newUser();
        UUID poison = newUser();
        UUID after = newUser();
        String key = newKey();
        execute("ALTER TABLE public.user_profiles ADD CONSTRAINT no_refused_parked "
                + "CHECK (encrypted_agent_config->>'call_agent_id' IS DISTINCT FROM 'refused_in_drain')");
        try {
            stopDatabase();
            try {
                assertThat(put(tenant, good, "{\"callAgentId\":\"c_good\"}").statusCode()).isEqualTo(202);
                assertThat(put(tenant, poison, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"refused_in_drain\"}")
                        .statusCode()).isEqualTo(202);
                assertThat(put(tenant, after, "{\"callAgentId\":\"c_after\"}").statusCode()).isEqualTo(202);
            } finally {
                startDatabase();
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> deadLettersOf(poison).size() == 1
                    && profileRow(good).isPresent() && profileRow(after).isPresent());
        } finally {
            execute("ALTER TABLE public.user_profiles DROP CONSTRAINT no_refused_parked");
        }
        assertThat(callAgentId("user_profiles", good)).isEqualTo("c_good");
        assertThat(callAgentId("user_profiles", after)).isEqualTo("c_after");
        // the refused one: the table refused it, the other table took it
        assertThat(profileRow(poison)).isEmpty();
        assertThat(callAgentId("user_settings", poison)).isEqualTo("refused_in_drain");
        ConsumerRecord<String, byte[]> dead = deadLettersOf(poison).get(0);
        assertThat(KafkaBroker.header(dead, "agentconfig-reason")).isEqualTo("refused");
        assertThat(KafkaBroker.header(dead, "agentconfig-code")).isEqualTo("23514");
        assertThat(KafkaBroker.header(dead, "agentconfig-target")).isEqualTo("user_profiles");
        assertThat(new String(dead.value(), StandardCharsets.UTF_8)).doesNotContain(key);
        PendingEntry refused = ParkedRecords.decode(dead.value());
        assertThat(refused.pendingTargets()).containsExactly("user_profiles");
        assertThat(refused.fields().get("retellApiKey").value()).startsWith("v1:");
        // its offset committed with the others: nothing waits
        await().atMost(Duration.ofSeconds(30)).until(() -> BROKER.allCommitted(group, topic));
        assertThat(parkingHealth().get("deadLettered").asLong()).isPositive();
        assertNotInDataDir(key);
    }

    /**
     * The drain in batches: 500 saves of 50 users (10 each, their keys over both partitions) and, in the middle, one
     * the database refuses, parked while the database is down; once it is back every user's newest value is in both
     * tables at its version (one user's saves applied in the order they were parked, though written in batches),
     * the refused one is on the dead-letter topic, and every offset is committed to the end.
     */
    @Test
    void fiveHundredParkedSavesOfFiftyUsersDrainInBatchesWithAPoisonOneDeadLettered() {
        String tenant = newTenant();
        List<UUID> users = new ArrayList<>();
        for (int u = 0; u < 50; u++) {
            users.add(newUser());
        }
        UUID poison = newUser();
        long batchesBefore = parkingHealth().get("batches").asLong();
        long drainedBefore = parkingHealth().get("drained").asLong();
        execute("ALTER TABLE public.user_profiles ADD CONSTRAINT no_refused_in_batch "
                + "CHECK (encrypted_agent_config->>'call_agent_id' IS DISTINCT FROM 'refused_in_batch')");
        try {
            stopDatabase();
            try {
                for (int round = 0; round < 10; round++) {
                    if (round == 5) {
                        assertThat(put(tenant, poison, "{\"callAgentId\":\"refused_in_batch\"}").statusCode())
                                .isEqualTo(202);
                    }
                    for (int u = 0; u < users.size(); u++) {
                        String body = round % 2 == 0
                                ? "{\"callAgentId\":\"c_" + u + "_" + round + "\",\"smsAgentId\":\"s_" + u + "_" + round + "\"}"
                                : "{\"callAgentId\":\"c_" + u + "_" + round + "\"}";
                        assertThat(put(tenant, users.get(u), body).statusCode()).isEqualTo(202);
                    }
                }
                // the fault happened: the database is away, nothing of it in the tables
                assertThat(embedded().running()).isFalse();
            } finally {
                startDatabase();
            }
            await().atMost(Duration.ofSeconds(120)).until(() -> deadLettersOf(poison).size() == 1
                    && BROKER.allCommitted(group, topic));
        } finally {
            execute("ALTER TABLE public.user_profiles DROP CONSTRAINT no_refused_in_batch");
        }
        // the topics read once: each user's records in offset order
        Map<String, List<ConsumerRecord<String, byte[]>>> byKey = BROKER.records(topic).stream()
                .collect(Collectors.groupingBy(ConsumerRecord::key));
        Set<String> deadKeys = BROKER.records(topic + ".dlq").stream().map(ConsumerRecord::key)
                .collect(Collectors.toSet());
        // the keys spread over both partitions
        assertThat(users.stream().map(u -> byKey.get(tenant + ":" + u).get(0).partition()).distinct().count())
                .isEqualTo(2);
        for (int u = 0; u < users.size(); u++) {
            UUID user = users.get(u);
            List<ConsumerRecord<String, byte[]>> parked = byKey.get(tenant + ":" + user);
            assertThat(parked).hasSize(10);
            PendingEntry last = ParkedRecords.decode(parked.get(9).value());
            PendingEntry lastSms = ParkedRecords.decode(parked.get(8).value());
            for (String table : List.of("user_profiles", "user_settings")) {
                assertThat(callAgentId(table, user)).as(table + " " + u).isEqualTo("c_" + u + "_9");
                assertThat(version(table, user, "callAgentId")).as(table + " " + u)
                        .isEqualTo(last.fields().get("callAgentId").version());
                assertThat(version(table, user, "smsAgentId")).as(table + " " + u)
                        .isEqualTo(lastSms.fields().get("smsAgentId").version());
            }
            assertThat(json((String) settingsRow(user).orElseThrow().get("retell_config")).get("sms_agent_id").asText())
                    .isEqualTo("s_" + u + "_8");
        }
        // the poison: refused by user_profiles, on the dead-letter topic with its reason, taken by user_settings
        assertThat(profileRow(poison)).isEmpty();
        assertThat(callAgentId("user_settings", poison)).isEqualTo("refused_in_batch");
        ConsumerRecord<String, byte[]> dead = deadLettersOf(poison).get(0);
        assertThat(KafkaBroker.header(dead, "agentconfig-reason")).isEqualTo("refused");
        assertThat(KafkaBroker.header(dead, "agentconfig-code")).isEqualTo("23514");
        assertThat(users.stream().filter(u -> deadKeys.contains(tenant + ":" + u)).toList()).isEmpty();
        // drained in batches: far fewer batches than records
        JsonNode health = parkingHealth();
        assertThat(health.get("drained").asLong() - drainedBefore).isGreaterThanOrEqualTo(500);
        assertThat(health.get("batches").asLong() - batchesBefore).isLessThan(100);
    }

    // ----- helpers ---------------------------------------------------------------------------------

    private List<ConsumerRecord<String, byte[]>> deadLettersOf(UUID user) {
        return BROKER.records(topic + ".dlq").stream().filter(r -> r.key().endsWith(":" + user)).toList();
    }

    private JsonNode parkingHealth() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
        return json(r).get("checks").get("parking");
    }

    private String callAgentId(String table, UUID user) {
        return table.equals("user_profiles")
                ? json((String) profileRow(user).orElseThrow().get("encrypted_agent_config")).get("call_agent_id").asText()
                : json((String) settingsRow(user).orElseThrow().get("retell_config")).get("call_agent_id").asText();
    }

    private long version(String table, UUID user, String field) {
        Map<String, Object> row = (table.equals("user_profiles") ? profileRow(user) : settingsRow(user)).orElseThrow();
        return json((String) row.get("field_versions")).get(field).asLong();
    }
}
