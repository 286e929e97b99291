package dev.agentconfig.kafka;

import static dev.agentconfig.testing.PackagedInstances.assigned;
import static dev.agentconfig.testing.PackagedInstances.awaitAllReady;
import static dev.agentconfig.testing.PackagedInstances.committedBy;
import static dev.agentconfig.testing.PackagedInstances.entries;
import static dev.agentconfig.testing.PackagedInstances.freePort;
import static dev.agentconfig.testing.PackagedInstances.health;
import static dev.agentconfig.testing.PackagedInstances.mark;
import static dev.agentconfig.testing.PackagedInstances.randomBytes;
import static dev.agentconfig.testing.PackagedInstances.rows;
import static dev.agentconfig.testing.PackagedInstances.sharedEnv;
import static dev.agentconfig.testing.PackagedInstances.sleep;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.db.EmbeddedDatabase;
import dev.agentconfig.json.Json;
import dev.agentconfig.testing.KafkaBroker;
import dev.agentconfig.testing.ServiceProcess;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * Scale-out, the hard way: 10,000 save records for 500 users on a 6-partition topic, consumed by two
 * packaged instances of the service in one consumer group, sharing one PostgreSQL (each with its own
 * data directory and local store), while the database is stopped for a while and one instance is
 * killed with SIGKILL during the outage (its local store holding parked saves) and started again.
 * At the end: every user's newest value in both tables, nothing in the dead-letter topic, every offset
 * committed, both local stores drained, and no plaintext key in either instance's output.
 */
class KafkaScaleIT {
    private static final int USERS = 500;
    private static final int RECORDS = 10_000;
    private static final int PARTITIONS = 6;

    @Test
    void twoInstancesOneGroupADatabaseOutageAndASigkillLoseAndDuplicateNothing() throws Exception {
        KafkaBroker broker = KafkaBroker.shared();
        String topic = KafkaBroker.unique("scale-saves");
        String group = KafkaBroker.unique("scale-group");
        broker.createTopic(topic, PARTITIONS);
        broker.createTopic(topic + ".dlq", 1);

        Path root = Files.createTempDirectory("acs-kafka-scale-");
        EmbeddedDatabase db = new EmbeddedDatabase(root.resolve("pg"), root.resolve("pg-secrets"));
        db.start();
        List<String> timeline = new ArrayList<>();
        long t0 = System.nanoTime();
        ServiceProcess a = null;
        ServiceProcess b = null;
        try {
            Map<String, String> env = sharedEnv(db, "scale-" + UUID.randomUUID());
            List<String> args = List.of(
                    "-Dagentconfig.kafka.bootstrap-servers=" + broker.bootstrapServers(),
                    "-Dagentconfig.kafka.saves-topic=" + topic,
                    "-Dagentconfig.kafka.group-id=" + group,
                    "-Dagentconfig.kafka.consumers=2",
                    "-Dagentconfig.kafka.session-timeout=6000",
                    "-Dagentconfig.kafka.retry-delay=500",
                    "-Dagentconfig.db.connect-timeout=400ms",
                    "-Dagentconfig.breaker.probe-interval=250ms",
                    "-Dagentconfig.sync.interval=1s",
                    "-Dagentconfig.sync.initial-delay=500ms");
            Path dataA = root.resolve("a");
            Path dataB = root.resolve("b");
            ServiceProcess startA = new ServiceProcess(dataA, freePort(), env, args).start();
            ServiceProcess startB = new ServiceProcess(dataB, freePort(), env, args).start();
            a = startA;
            b = startB;
            awaitAllReady(startA, startB);
            ServiceProcess ra = a;
            ServiceProcess rb = b;
            await().atMost(Duration.ofSeconds(60)).until(() -> assigned(ra) + assigned(rb) == PARTITIONS
                    && assigned(ra) > 0 && assigned(rb) > 0);
            mark(timeline, t0, "both instances in the group, " + assigned(ra) + " + " + assigned(rb) + " partitions");

            // 500 users, 20 records each, interleaved; each record's timestamp is its edit's time (1 ms apart)
            String tenant = "scale" + HexFormat.of().formatHex(randomBytes(3));
            List<UUID> users = new ArrayList<>();
            for (int i = 0; i < USERS; i++) {
                users.add(UUID.randomUUID());
            }
            long base = Instant.now().toEpochMilli();
            Map<UUID, Long> newest = new HashMap<>();
            Map<UUID, Long> newestKey = new HashMap<>();
            long produceStart = System.nanoTime();
            Thread producer = new Thread(() -> {
                for (int i = 0; i < RECORDS; i++) {
                    UUID user = users.get(i % USERS);
                    int seq = i / USERS;
                    long ts = base + i;
                    String value = "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user + "\",\"callAgentId\":\"c"
                            + seq + "\",\"smsAgentId\":\"s" + seq + "\""
                            + (seq % 5 == 0 ? ",\"retellApiKey\":\"key_TESTSECRET_" + seq + "_" + user + "\"" : "") + "}";
                    broker.producer().send(new ProducerRecord<>(topic, null, ts, tenant + ":" + user,
                            value.getBytes(StandardCharsets.UTF_8)));
                    if (i % 100 == 99) {
                        broker.producer().flush();
                        sleep(200); // 500 records/s: the faults below happen while records keep coming
                    }
                }
                broker.producer().flush();
            }, "scale-producer");
            for (int i = 0; i < RECORDS; i++) {
                UUID user = users.get(i % USERS);
                newest.put(user, base + i);
                if ((i / USERS) % 5 == 0) {
                    newestKey.put(user, base + i);
                }
            }
            producer.start();
            mark(timeline, t0, "producing " + RECORDS + " records");

            // the database goes while both instances are consuming: each has committed records to it
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .until(() -> committedBy(ra) > 0 && committedBy(rb) > 0);
            db.stop();
            mark(timeline, t0, "database stopped");
            // B is killed only once it holds saves it parked in its local store (acknowledged to Kafka by the
            // commit, in no table): the restarted B must drain exactly those
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> entries(dataB) > 0);
            b.kill();
            long parkedByB = entries(dataB);
            String killedOutput = b.output();
            mark(timeline, t0, "instance B killed (SIGKILL) holding " + parkedByB + " parked saves");
            assertThat(parkedByB).as("entries in B's local store after the kill").isPositive();
            sleep(4_000);
            db.start();
            mark(timeline, t0, "database started");
            sleep(2_000);
            b = new ServiceProcess(dataB, freePort(), env, args).start();
            mark(timeline, t0, "instance B restarted");
            producer.join(120_000);
            mark(timeline, t0, "all records produced");

            ServiceProcess fa = a;
            ServiceProcess fb = b.awaitReady();
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                    .until(() -> broker.allCommitted(group, topic));
            double seconds = (System.nanoTime() - produceStart) / 1e9;
            mark(timeline, t0, "every offset committed");
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .until(() -> entries(dataA) == 0 && entries(dataB) == 0);
            mark(timeline, t0, "both local stores drained");

            // nothing dead-lettered, every offset committed
            assertThat(broker.records(topic + ".dlq")).isEmpty();
            assertThat(broker.committed(group, topic)).isEqualTo(broker.endOffsets(topic));
            assertThat(broker.endOffsets(topic).values().stream().mapToLong(Long::longValue).sum()).isEqualTo(RECORDS);

            // every user's newest value, at its record's version, in both tables
            try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                 Statement st = c.createStatement()) {
                Map<UUID, String[]> profiles = rows(st, "SELECT user_id, encrypted_agent_config->>'call_agent_id', "
                        + "encrypted_agent_config->>'sms_agent_id', field_versions::text FROM public.user_profiles "
                        + "WHERE tenant_id = '" + tenant + "'");
                Map<UUID, String[]> settings = rows(st, "SELECT user_id, retell_config->>'call_agent_id', "
                        + "retell_config->>'sms_agent_id', field_versions::text FROM public.user_settings "
                        + "WHERE user_id IN (SELECT user_id FROM public.user_profiles WHERE tenant_id = '" + tenant + "')");
                assertThat(profiles).hasSize(USERS);
                assertThat(settings).hasSize(USERS);
                for (UUID user : users) {
                    for (Map<UUID, String[]> table : List.of(profiles, settings)) {
                        String[] row = table.get(user);
                        assertThat(row[0]).as("callAgentId of " + user).isEqualTo("c19");
                        assertThat(row[1]).as("smsAgentId of " + user).isEqualTo("s19");
                        JsonNode versions = Json.tree(row[2]);
                        assertThat(versions.get("callAgentId").asLong()).as("callAgentId version of " + user)
                                .isEqualTo(HybridLogicalClock.micros(Instant.ofEpochMilli(newest.get(user))));
                        assertThat(versions.get("retellApiKey").asLong()).as("retellApiKey version of " + user)
                                .isEqualTo(HybridLogicalClock.micros(Instant.ofEpochMilli(newestKey.get(user))));
                    }
                }
            }
            for (ServiceProcess s : List.of(fa, fb)) {
                JsonNode health = health(s);
                assertThat(health.get("checks").get("backlog").get("pending").asInt()).isZero();
                assertThat(health.get("checks").get("quarantine").get("quarantined").asInt()).isZero();
            }
            mark(timeline, t0, String.format("%,d records in %.1f s from the first send to the last commit: %.0f "
                    + "records/s with the outage and the kill", RECORDS, seconds, RECORDS / seconds));
            System.out.println("KafkaScaleIT timeline:\n  " + String.join("\n  ", timeline));
            String outA = fa.output();
            String outB = fb.output();
            assertThat(fa.stop()).isIn(0, 143);
            assertThat(fb.stop()).isIn(0, 143);
            assertThat(killedOutput + outA + outB + fa.output() + fb.output()).doesNotContain("key_TESTSECRET_");
        } finally {
            System.out.println("KafkaScaleIT timeline:\n  " + String.join("\n  ", timeline));
            for (ServiceProcess s : new ServiceProcess[] {a, b}) {
                if (s != null && s.process().isAlive()) {
                    s.process().destroyForcibly();
                }
            }
            db.stop();
        }
    }
}
