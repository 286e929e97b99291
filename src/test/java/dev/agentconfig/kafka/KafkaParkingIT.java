package dev.agentconfig.kafka;

import static dev.agentconfig.testing.PackagedInstances.awaitAllReady;
import static dev.agentconfig.testing.PackagedInstances.entries;
import static dev.agentconfig.testing.PackagedInstances.freePort;
import static dev.agentconfig.testing.PackagedInstances.mark;
import static dev.agentconfig.testing.PackagedInstances.randomBytes;
import static dev.agentconfig.testing.PackagedInstances.rows;
import static dev.agentconfig.testing.PackagedInstances.sharedEnv;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.db.EmbeddedDatabase;
import dev.agentconfig.json.Json;
import dev.agentconfig.testing.KafkaBroker;
import dev.agentconfig.testing.ServiceProcess;
import org.junit.jupiter.api.Test;

/**
 * Parking on Kafka survives the loss of an instance, disk and all (issue 22): two packaged instances with
 * agentconfig.parking=kafka share one PostgreSQL and one parking topic. The database is stopped; 2,000 saves over
 * HTTP, each user's two saves on different instances, are all answered 202 (parked on the topic). During the
 * outage a read on B of a user whose newest save went to A answers A's parked value. A is then killed with SIGKILL
 * and its data directory deleted; the database comes back. At the end every acknowledged save is in both tables at
 * its version, nothing is on the dead-letter topic, every offset of the drain group is committed to the end, and no
 * plaintext key is in either instance's output.
 */
class KafkaParkingIT {
    private static final int USERS = 1_000;
    private static final int ROUNDS = 2;
    private static final int PARTITIONS = 6;
    private static final int CLIENTS = 16;
    private static final String KEY_PREFIX = "key_TESTSECRET_";

    /** One acknowledged save: what it sent and the version it was given. */
    private record Acked(UUID user, int round, String callAgentId, String smsAgentId, boolean withKey, long version) {
    }

    @Test
    void twoInstancesParkOnTheTopicOneDiesWithItsDiskAndNothingAcknowledgedIsLost() throws Exception {
        KafkaBroker broker = KafkaBroker.shared();
        String topic = KafkaBroker.unique("parked");
        String group = KafkaBroker.unique("parked-drain");
        broker.createTopic(topic, PARTITIONS);
        broker.createTopic(topic + ".dlq", 1);

        Path root = Files.createTempDirectory("acs-kafka-parking-");
        EmbeddedDatabase db = new EmbeddedDatabase(root.resolve("pg"), root.resolve("pg-secrets"));
        db.start();
        List<String> timeline = new ArrayList<>();
        long t0 = System.nanoTime();
        ServiceProcess a = null;
        ServiceProcess b = null;
        String token = "parking-" + UUID.randomUUID();
        try {
            Map<String, String> env = sharedEnv(db, token);
            List<String> args = List.of(
                    "-Dagentconfig.kafka.bootstrap-servers=" + broker.bootstrapServers(),
                    // the front door's topic is not created: this test is about parking
                    "-Dagentconfig.kafka.saves-topic=" + KafkaBroker.unique("saves-unused"),
                    "-Dagentconfig.parking=kafka",
                    "-Dagentconfig.kafka.parked-topic=" + topic,
                    "-Dagentconfig.kafka.parked-group-id=" + group,
                    "-Dagentconfig.kafka.session-timeout=6000",
                    "-Dagentconfig.kafka.parked-poll-timeout=200",
                    "-Dagentconfig.db.connect-timeout=400ms",
                    "-Dagentconfig.breaker.probe-interval=250ms",
                    "-Dagentconfig.sync.interval=1s",
                    "-Dagentconfig.sync.initial-delay=500ms");
            Path dataA = root.resolve("a");
            Path dataB = root.resolve("b");
            a = new ServiceProcess(dataA, freePort(), env, args).start();
            b = new ServiceProcess(dataB, freePort(), env, args).start();
            awaitAllReady(a, b);
            mark(timeline, t0, "both instances ready");

            db.stop();
            mark(timeline, t0, "database stopped");

            // 1,000 users, two saves each: round 0 on one instance, round 1 on the other (after every round 0)
            String tenant = "park" + HexFormat.of().formatHex(randomBytes(3));
            List<UUID> users = new ArrayList<>();
            for (int i = 0; i < USERS; i++) {
                users.add(UUID.randomUUID());
            }
            ServiceProcess[] instances = {a, b};
            HttpClient http = HttpClient.newHttpClient();
            Map<String, Acked> acked = new ConcurrentHashMap<>();
            List<String> refused = new ArrayList<>();
            ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
            long sendStart = System.nanoTime();
            try {
                for (int round = 0; round < ROUNDS; round++) {
                    List<Future<?>> sent = new ArrayList<>();
                    for (int u = 0; u < USERS; u++) {
                        UUID user = users.get(u);
                        int r = round;
                        ServiceProcess to = instances[(u + round) % 2];
                        sent.add(clients.submit(() -> {
                            boolean withKey = r == 0 && users.indexOf(user) % 10 == 0;
                            String call = "c" + r + "_" + user.toString().substring(0, 8);
                            String sms = "s" + r;
                            String body = "{\"callAgentId\":\"" + call + "\",\"smsAgentId\":\"" + sms + "\""
                                    + (withKey ? ",\"retellApiKey\":\"" + KEY_PREFIX + r + "_" + user + "\"" : "") + "}";
                            HttpResponse<String> answer = http.send(HttpRequest.newBuilder(URI.create(to.baseUrl()
                                            + "/api/v1/agent-config/" + tenant + "/" + user))
                                    .header("Authorization", "Bearer " + token)
                                    .header("Content-Type", "application/json")
                                    .timeout(Duration.ofSeconds(30))
                                    .PUT(HttpRequest.BodyPublishers.ofString(body)).build(),
                                    HttpResponse.BodyHandlers.ofString());
                            if (answer.statusCode() != 202) {
                                synchronized (refused) {
                                    refused.add(answer.statusCode() + " " + answer.body());
                                }
                                return null;
                            }
                            long version = Json.tree(answer.body()).get("version").asLong();
                            acked.put(user + "/" + r, new Acked(user, r, call, sms, withKey, version));
                            return null;
                        }));
                    }
                    for (Future<?> f : sent) {
                        f.get();
                    }
                }
            } finally {
                clients.shutdown();
            }
            double sendSeconds = (System.nanoTime() - sendStart) / 1e9;
            mark(timeline, t0, String.format("%d saves answered in %.1f s (%.0f/s over %d clients)", USERS * ROUNDS,
                    sendSeconds, USERS * ROUNDS / sendSeconds, CLIENTS));
            assertThat(refused).as("saves not answered 202").isEmpty();
            assertThat(acked).hasSize(USERS * ROUNDS);
            // parked on the topic, one record per save, not on either instance's disk
            assertThat(broker.endOffsets(topic).values().stream().mapToLong(Long::longValue).sum())
                    .isEqualTo(USERS * ROUNDS);
            assertThat(entries(dataA)).isZero();
            assertThat(entries(dataB)).isZero();

            // a read on B of a user whose newest save went to A answers A's parked value during the outage
            int onA = 1; // user 1: round 0 on B ((1 + 0) % 2), round 1 on A ((1 + 1) % 2)
            UUID readUser = users.get(onA);
            Acked newestOnA = newest(acked, readUser);
            assertThat(newestOnA.round()).isEqualTo(1);
            JsonNode read = Json.tree(get(http, b, tenant, readUser, token).body());
            assertThat(db.running()).isFalse();
            assertThat(read.at("/sources/user_profiles/status").asText()).as(read.toString()).isEqualTo("error");
            assertThat(read.get("callAgentId").asText()).as(read.toString()).isEqualTo(newestOnA.callAgentId());
            assertThat(read.at("/fields/callAgentId/source").asText()).isEqualTo("parked_topic");
            assertThat(read.at("/fields/callAgentId/version").asLong()).isEqualTo(newestOnA.version());
            mark(timeline, t0, "a read on B answered the value parked by A (source parked_topic)");

            // A dies for good, with its disk
            String outputA = a.output();
            a.kill();
            assertThat(a.process().isAlive()).isFalse();
            deleteTree(dataA);
            assertThat(dataA).doesNotExist();
            mark(timeline, t0, "instance A killed (SIGKILL), its data directory deleted");

            db.start();
            mark(timeline, t0, "database started");
            long drainStart = System.nanoTime();
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250))
                    .until(() -> broker.allCommitted(group, topic));
            double drainSeconds = (System.nanoTime() - drainStart) / 1e9;
            mark(timeline, t0, String.format("every offset of the drain group committed, %.1f s after the database "
                    + "came back (B alone)", drainSeconds));

            assertThat(broker.records(topic + ".dlq")).isEmpty();
            assertThat(broker.committed(group, topic)).isEqualTo(broker.endOffsets(topic));
            assertThat(entries(dataB)).isZero();

            // every acknowledged save in both tables at its version: per field, the newest acknowledged one
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
                    Acked newest = newest(acked, user);
                    Acked key = acked.values().stream().filter(s -> s.user().equals(user) && s.withKey())
                            .max(Comparator.comparingLong(Acked::version)).orElse(null);
                    for (Map<UUID, String[]> table : List.of(profiles, settings)) {
                        String[] row = table.get(user);
                        assertThat(row[0]).as("callAgentId of " + user).isEqualTo(newest.callAgentId());
                        assertThat(row[1]).as("smsAgentId of " + user).isEqualTo(newest.smsAgentId());
                        JsonNode versions = Json.tree(row[2]);
                        assertThat(versions.get("callAgentId").asLong()).as("callAgentId version of " + user)
                                .isEqualTo(newest.version());
                        assertThat(versions.get("smsAgentId").asLong()).as("smsAgentId version of " + user)
                                .isEqualTo(newest.version());
                        if (key != null) {
                            assertThat(versions.get("retellApiKey").asLong()).as("retellApiKey version of " + user)
                                    .isEqualTo(key.version());
                        }
                    }
                }
            }
            mark(timeline, t0, "every acknowledged save in both tables at its version");
            System.out.println("KafkaParkingIT timeline:\n  " + String.join("\n  ", timeline));
            String outputB = b.output();
            assertThat(b.stop()).isIn(0, 143);
            assertThat(outputA + outputB + b.output()).doesNotContain(KEY_PREFIX);
        } finally {
            System.out.println("KafkaParkingIT timeline:\n  " + String.join("\n  ", timeline));
            for (ServiceProcess s : new ServiceProcess[] {a, b}) {
                if (s != null && s.process().isAlive()) {
                    s.process().destroyForcibly();
                }
            }
            db.stop();
        }
    }

    /** The user's acknowledged save with the newest version (the one rule: it wins every field it holds). */
    private static Acked newest(Map<String, Acked> acked, UUID user) {
        return acked.values().stream().filter(s -> s.user().equals(user))
                .max(Comparator.comparingLong(Acked::version)).orElseThrow();
    }

    private static HttpResponse<String> get(HttpClient http, ServiceProcess s, String tenant, UUID user, String token)
            throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static void deleteTree(Path dir) throws Exception {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
