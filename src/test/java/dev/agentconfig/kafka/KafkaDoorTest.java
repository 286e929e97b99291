package dev.agentconfig.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.json.Json;
import dev.agentconfig.store.Disk;
import dev.agentconfig.testing.KafkaBroker;
import dev.agentconfig.testing.ServiceTestSupport;
import org.apache.camel.spi.Registry;
import org.apache.camel.support.DefaultRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The Kafka front door against a real broker (an in-process KRaft node): a record of the saves topic
 * is a save like a PUT, its offset is committed only after the save is durable, a redelivered old
 * record changes nothing, a refused record goes to the dead-letter topic (its key redacted) while the
 * records behind it are saved, a record that cannot be made durable is held back uncommitted, and
 * every outcome is told on the events topic without a value. One partition: the records of this
 * class are consumed in the order they are sent.
 */
class KafkaDoorTest extends ServiceTestSupport {
    private static final KafkaBroker BROKER = KafkaBroker.shared();
    // static: CamelTestSupport asks for the properties from its constructor, before instance fields are set
    private static final String topic = KafkaBroker.unique("saves");
    private static final String group = KafkaBroker.unique("group");
    private static final String events = KafkaBroker.unique("events");
    private static final TopicPartition partition = new TopicPartition(topic, 0);
    /** The local store's disk fails every write while set (a full or broken disk). */
    private static final AtomicBoolean diskFails = new AtomicBoolean();

    @Override
    protected Properties extraProperties() {
        BROKER.createTopic(topic, 1);
        BROKER.createTopic(topic + ".dlq", 1);
        BROKER.createTopic(events, 1);
        Properties p = new Properties();
        p.setProperty("agentconfig.kafka.bootstrap-servers", BROKER.bootstrapServers());
        p.setProperty("agentconfig.kafka.saves-topic", topic);
        p.setProperty("agentconfig.kafka.group-id", group);
        p.setProperty("agentconfig.kafka.events-topic", events);
        p.setProperty("agentconfig.kafka.session-timeout", "6000");
        p.setProperty("agentconfig.kafka.retry-delay", "300");
        return p;
    }

    @Override
    protected Registry createCamelRegistry() {
        Disk real = Disk.system();
        Registry registry = new DefaultRegistry();
        registry.bind("localStoreDisk", new Disk() {
            @Override
            public void write(Path file, byte[] bytes) throws IOException {
                if (diskFails.get()) {
                    throw new IOException("No space left on device (simulated)");
                }
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

    // ----- helpers ---------------------------------------------------------------------------------

    private static String message(String tenant, UUID user, String fields) {
        return "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user + "\"" + (fields.isEmpty() ? "" : "," + fields) + "}";
    }

    private RecordMetadata send(String tenant, UUID user, String fields, Long timestamp) {
        return BROKER.send(topic, tenant + ":" + user, message(tenant, user, fields), timestamp);
    }

    /** Waits until the group committed past the record (everything up to it is durable or dead-lettered). */
    private void awaitCommitted(RecordMetadata record) {
        await().atMost(Duration.ofSeconds(30)).until(() ->
                BROKER.committed(group, topic).getOrDefault(partition, 0L) > record.offset());
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

    private List<ConsumerRecord<String, byte[]>> deadLetters() {
        return BROKER.records(topic + ".dlq");
    }

    private ConsumerRecord<String, byte[]> deadLetterOf(RecordMetadata source) {
        return deadLetters().stream()
                .filter(r -> String.valueOf(source.offset()).equals(KafkaBroker.header(r, "agentconfig-source-offset")))
                .findFirst().orElseThrow(() -> new AssertionError("no dead letter for offset " + source.offset()));
    }

    private List<JsonNode> eventsOf(UUID user) {
        return BROKER.records(events).stream()
                .filter(r -> r.key().endsWith(":" + user))
                .map(r -> Json.tree(new String(r.value(), StandardCharsets.UTF_8)))
                .toList();
    }

    private JsonNode kafkaHealth() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
        return json(r).get("checks").get("kafka");
    }

    // ----- tests -----------------------------------------------------------------------------------

    @Test
    void aRecordIsSavedLikeAPutAndItsOffsetIsCommittedAfterwards() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        long timestamp = Instant.now().minusSeconds(5).toEpochMilli();

        RecordMetadata r = send(tenant, user, "\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"agent_kafka\","
                + "\"smsAgentId\":\"sms_kafka\"", timestamp);
        awaitCommitted(r);

        for (String table : List.of("user_profiles", "user_settings")) {
            assertThat(callAgentId(table, user)).as(table).isEqualTo("agent_kafka");
            // the versions are the record's own time, not the time it was consumed
            assertThat(version(table, user, "callAgentId")).as(table)
                    .isEqualTo(HybridLogicalClock.micros(Instant.ofEpochMilli(timestamp)));
        }
        assertThat(localEntry(tenant, user)).isEmpty();
        assertNotInDataDir(key);

        // told on the events topic: field names and versions, never a value
        await().atMost(Duration.ofSeconds(10)).until(() -> !eventsOf(user).isEmpty());
        JsonNode event = eventsOf(user).get(0);
        assertThat(event.get("status").asText()).isEqualTo("saved");
        assertThat(event.get("origin").asText()).isEqualTo("kafka");
        assertThat(event.get("tenantId").asText()).isEqualTo(tenant);
        assertThat(event.get("fields").get("callAgentId").asLong())
                .isEqualTo(HybridLogicalClock.micros(Instant.ofEpochMilli(timestamp)));
        assertThat(event.get("fields").has("retellApiKey")).isTrue();
        assertThat(event.get("targets").get("user_settings").asText()).isEqualTo("saved");
        assertThat(event.toString()).doesNotContain(key).doesNotContain("agent_kafka").doesNotContain("sms_kafka");

        JsonNode health = kafkaHealth();
        assertThat(health.get("status").asText()).isEqualTo("UP");
        assertThat(health.get("assignedPartitions").asInt()).isEqualTo(1);
        assertThat(health.get("committed").asLong()).isGreaterThanOrEqualTo(1);
        HttpResponse<String> metrics = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/metrics"))
                .header("Authorization", "Bearer " + serviceToken).GET());
        assertThat(metrics.body()).contains("agentconfig_kafka_consumed_total{outcome=\"saved\"}",
                "agentconfig_kafka_committed_total", "agentconfig_kafka_lag", "agentconfig_kafka_events_published_total");
    }

    @Test
    void aRedeliveredOldRecordDoesNotOverwriteANewerSave() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        long old = Instant.now().minusSeconds(60).toEpochMilli();
        RecordMetadata first = send(tenant, user, "\"callAgentId\":\"from_kafka_old\"", old);
        awaitCommitted(first);
        assertThat(callAgentId("user_profiles", user)).isEqualTo("from_kafka_old");

        // a newer save made since, over HTTP
        HttpResponse<String> newer = put(tenant, user, "{\"callAgentId\":\"from_http_newer\"}");
        assertThat(newer.statusCode()).as(newer.body()).isEqualTo(200);
        long newerVersion = json(newer).get("version").asLong();

        // the old record is delivered again (the group rewound to it, as after a crash before its commit)
        context.getRouteController().stopRoute("kafka-saves");
        BROKER.rewind(group, partition, first.offset());
        context.getRouteController().startRoute("kafka-saves");
        await().atMost(Duration.ofSeconds(30)).until(() -> eventsOf(user).size() >= 3);
        awaitCommitted(first);

        for (String table : List.of("user_profiles", "user_settings")) {
            assertThat(callAgentId(table, user)).as(table).isEqualTo("from_http_newer");
            assertThat(version(table, user, "callAgentId")).as(table).isEqualTo(newerVersion);
        }
        assertThat(eventsOf(user)).extracting(e -> e.get("status").asText()).containsExactly("saved", "saved", "stale");
        assertThat(localEntry(tenant, user)).isEmpty();

        // the receipts of the Kafka door's saves: each says which save won (the HTTP one), never a value
        for (JsonNode event : List.of(eventsOf(user).get(0), eventsOf(user).get(2))) {
            HttpResponse<String> receipt = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/"
                    + tenant + "/" + user + "/saves/" + event.get("saveId").asText()))
                    .header("Authorization", "Bearer " + serviceToken).GET());
            assertThat(receipt.statusCode()).as(receipt.body()).isEqualTo(200);
            JsonNode r = json(receipt);
            assertThat(r.get("origin").asText()).isEqualTo("kafka");
            assertThat(r.get("status").asText()).as(r.toString()).isEqualTo("superseded");
            assertThat(r.at("/fields/callAgentId/by/saveId").asText()).isEqualTo(json(newer).get("saveId").asText());
            assertThat(r.at("/fields/callAgentId/by/origin").asText()).isEqualTo("http");
            assertThat(r.toString()).doesNotContain("from_kafka_old").doesNotContain("from_http_newer");
        }
    }

    @Test
    void aPoisonRecordGoesToTheDeadLetterTopicWhileTheRecordsBehindItAreSaved() {
        String tenant = newTenant();
        UUID before = newUser();
        UUID poisoned = newUser();
        UUID other = newUser();
        UUID behind = newUser();
        String key = newKey();
        String misplaced = newKey();

        RecordMetadata ok1 = send(tenant, before, "\"callAgentId\":\"before_poison\"", null);
        // a typo'd field name, with the key in its own field and another key under a typo
        RecordMetadata poison = send(tenant, poisoned, "\"retellApiKey\":\"" + key + "\",\"retellApiKEY\":\""
                + misplaced + "\",\"callAgentID\":\"typo\"", null);
        // a record whose key names another user than its JSON
        RecordMetadata wrongKey = BROKER.send(topic, tenant + ":" + other,
                message(tenant, poisoned, "\"callAgentId\":\"not_yours\""), null);
        // not JSON at all (the whole value may be a key)
        RecordMetadata garbage = BROKER.send(topic, tenant + ":" + poisoned, "retellApiKey=" + key, null);
        // no key
        RecordMetadata unkeyed = BROKER.send(topic, null, message(tenant, poisoned, "\"callAgentId\":\"no_key\""), null);
        RecordMetadata ok2 = send(tenant, behind, "\"callAgentId\":\"behind_poison\"", null);
        awaitCommitted(ok2);

        assertThat(callAgentId("user_profiles", before)).isEqualTo("before_poison");
        assertThat(callAgentId("user_profiles", behind)).isEqualTo("behind_poison");
        assertThat(callAgentId("user_settings", behind)).isEqualTo("behind_poison");
        assertThat(profileRow(poisoned)).isEmpty();
        assertThat(profileRow(other)).isEmpty();
        assertThat(localEntry(tenant, poisoned)).isEmpty();

        ConsumerRecord<String, byte[]> dead = deadLetterOf(poison);
        assertThat(dead.key()).isEqualTo(tenant + ":" + poisoned);
        assertThat(KafkaBroker.header(dead, "agentconfig-status")).isEqualTo("400");
        assertThat(KafkaBroker.header(dead, "agentconfig-failure-class")).isEqualTo("invalid");
        assertThat(KafkaBroker.header(dead, "agentconfig-reason")).contains("unknown field").contains("callAgentID");
        assertThat(KafkaBroker.header(dead, "agentconfig-source-topic")).isEqualTo(topic);
        assertThat(KafkaBroker.header(dead, "agentconfig-source-partition")).isEqualTo("0");
        assertThat(KafkaBroker.header(dead, "agentconfig-redaction")).contains("retellApiKey redacted");
        String copy = new String(dead.value(), StandardCharsets.UTF_8);
        assertThat(json(copy).has("callAgentID")).as("an unknown field is not kept").isFalse();
        assertThat(json(copy).get("userId").asText()).isEqualTo(poisoned.toString());
        assertThat(json(copy).get("retellApiKey").asText()).contains("…");

        assertThat(KafkaBroker.header(deadLetterOf(wrongKey), "agentconfig-reason"))
                .contains("record key does not name the message's tenantId and userId");
        ConsumerRecord<String, byte[]> notJson = deadLetterOf(garbage);
        assertThat(KafkaBroker.header(notJson, "agentconfig-reason")).contains("not valid JSON");
        assertThat(notJson.value()).isEmpty();
        assertThat(KafkaBroker.header(notJson, "agentconfig-redaction")).contains("content not kept");
        ConsumerRecord<String, byte[]> noKey = deadLetterOf(unkeyed);
        assertThat(noKey.key()).isNull();
        assertThat(KafkaBroker.header(noKey, "agentconfig-reason")).contains("no key");

        // never the plaintext key on the dead-letter topic (values and headers)
        for (ConsumerRecord<String, byte[]> r : deadLetters()) {
            assertThat(new String(r.value(), StandardCharsets.UTF_8)).doesNotContain(key).doesNotContain(misplaced);
            r.headers().forEach(h -> assertThat(new String(h.value(), StandardCharsets.UTF_8))
                    .doesNotContain(key).doesNotContain(misplaced));
        }
        assertThat(ok1.offset()).isLessThan(poison.offset());
        assertNotInDataDir(key);
    }

    @Test
    void aQuarantinedSaveIsParkedAndToldOnTheDeadLetterTopic() {
        String tenant = newTenant();
        UUID user = newUser();
        execute("ALTER TABLE public.user_profiles ADD CONSTRAINT kafka_refuse CHECK "
                + "(encrypted_agent_config ->> 'call_agent_id' IS DISTINCT FROM 'refused_value')");
        RecordMetadata r;
        try {
            r = send(tenant, user, "\"callAgentId\":\"refused_value\"", null);
            awaitCommitted(r);
        } finally {
            execute("ALTER TABLE public.user_profiles DROP CONSTRAINT kafka_refuse");
        }
        JsonNode entry = localEntry(tenant, user).orElseThrow();
        assertThat(entry.get("state").asText()).isEqualTo("quarantined");
        assertThat(callAgentId("user_settings", user)).isEqualTo("refused_value");

        ConsumerRecord<String, byte[]> dead = deadLetterOf(r);
        assertThat(KafkaBroker.header(dead, "agentconfig-status")).isEqualTo("202");
        assertThat(KafkaBroker.header(dead, "agentconfig-problem")).isEqualTo("quarantined");
        assertThat(KafkaBroker.header(dead, "agentconfig-failure-class")).isEqualTo("rejected");
        assertThat(KafkaBroker.header(dead, "agentconfig-failure-code")).isEqualTo("23514");
        assertThat(KafkaBroker.header(dead, "agentconfig-reason")).contains("kafka_refuse");
        assertThat(KafkaBroker.header(dead, "agentconfig-local-store"))
                .contains("/api/v1/agent-config/" + tenant + "/" + user + "/retry");
        await().atMost(Duration.ofSeconds(10)).until(() -> !eventsOf(user).isEmpty());
        assertThat(eventsOf(user).get(0).get("status").asText()).isEqualTo("quarantined");
    }

    @Test
    void aSaveThatCannotBeMadeDurableIsHeldBackUncommittedAndReadAgain() {
        String tenant = newTenant();
        UUID first = newUser();
        UUID held = newUser();
        RecordMetadata ok = send(tenant, first, "\"callAgentId\":\"durable\"", null);
        awaitCommitted(ok);

        // neither the database (user_profiles renamed away: schema drift) nor the local store (disk full)
        diskFails.set(true);
        execute("ALTER TABLE public.user_profiles RENAME TO user_profiles_away");
        RecordMetadata r;
        try {
            r = send(tenant, held, "\"callAgentId\":\"held_back\"", null);
            await().atMost(Duration.ofSeconds(30)).until(() -> kafkaHealth().get("status").asText().equals("DOWN"));
            assertThat(kafkaHealth().get("lastError").asText()).contains("503").contains("local-store-unavailable");
            // read again and again, never committed
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10)).until(() ->
                    BROKER.committed(group, topic).getOrDefault(partition, 0L) == r.offset());
            assertThat(localEntry(tenant, held)).isEmpty();
            assertThat(deadLetters()).noneMatch(d ->
                    String.valueOf(r.offset()).equals(KafkaBroker.header(d, "agentconfig-source-offset")));
        } finally {
            execute("ALTER TABLE public.user_profiles_away RENAME TO user_profiles");
            diskFails.set(false);
        }
        awaitCommitted(r);
        resetBreakers();
        await().atMost(Duration.ofSeconds(30)).until(() -> profileRow(held).isPresent() || localEntry(tenant, held).isPresent());
        assertThat(kafkaHealth().get("status").asText()).isEqualTo("UP");
    }

    @Test
    void aSaveQueuedDuringAnOutageAndSyncedLaterIsToldTwiceOnTheEventsTopic() {
        String tenant = newTenant();
        UUID user = newUser();
        execute("ALTER TABLE public.user_profiles RENAME TO user_profiles_away");
        try {
            RecordMetadata r = send(tenant, user, "\"callAgentId\":\"queued_first\"", null);
            awaitCommitted(r);
        } finally {
            execute("ALTER TABLE public.user_profiles_away RENAME TO user_profiles");
        }
        assertThat(localEntry(tenant, user)).isPresent();
        resetBreakers();
        HttpResponse<String> pass = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/sync"))
                .header("Authorization", "Bearer " + serviceToken).POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(pass.statusCode()).as(pass.body()).isEqualTo(202);
        assertThat(localEntry(tenant, user)).isEmpty();
        assertThat(callAgentId("user_profiles", user)).isEqualTo("queued_first");

        await().atMost(Duration.ofSeconds(10)).until(() -> eventsOf(user).size() >= 2);
        List<JsonNode> told = eventsOf(user);
        assertThat(told).extracting(e -> e.get("status").asText()).containsExactly("queued", "synced");
        assertThat(told.get(1).get("origin").asText()).isEqualTo("replay");
        assertThat(told.get(1).get("fields").get("callAgentId").asLong())
                .isEqualTo(told.get(0).get("fields").get("callAgentId").asLong());
        assertThat(told.toString()).doesNotContain("queued_first");
    }
}
