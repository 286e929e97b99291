package dev.agentconfig.testing;

import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.db.EmbeddedDatabase;
import dev.agentconfig.json.Json;

/**
 * What the tests of several packaged instances sharing one external (embedded) PostgreSQL have in common
 * (kafka/KafkaScaleIT, kafka/KafkaParkingIT): the environment they share, starting them together, their health,
 * their local stores, the tables' rows, a timeline of what happened.
 */
public final class PackagedInstances {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private PackagedInstances() {
    }

    /** The environment every instance shares: the database, one encryption key, one service token. */
    public static Map<String, String> sharedEnv(EmbeddedDatabase db, String token) {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        return Map.of(
                "AGENTCONFIG_DB_URL", db.jdbcUrl(),
                "AGENTCONFIG_DB_USER", db.user(),
                "AGENTCONFIG_DB_PASSWORD", db.password(),
                "AGENTCONFIG_ENCRYPTION_KEY", Base64.getEncoder().encodeToString(key),
                "AGENTCONFIG_AUTH_SERVICE_TOKEN", token);
    }

    /** Waits until every instance answers HTTP (they start in parallel). */
    public static void awaitAllReady(ServiceProcess... instances) throws Exception {
        CompletableFuture<?>[] ready = new CompletableFuture<?>[instances.length];
        for (int i = 0; i < instances.length; i++) {
            ready[i] = CompletableFuture.runAsync(instances[i]::awaitReady);
        }
        CompletableFuture.allOf(ready).get(120, TimeUnit.SECONDS);
    }

    public static JsonNode health(ServiceProcess s) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/observe/health"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return Json.tree(r.body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Partitions of the saves topic assigned to the instance's consumers (its health check "kafka"); 0 if unknown. */
    public static int assigned(ServiceProcess s) {
        try {
            return health(s).get("checks").get("kafka").get("assignedPartitions").asInt();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /** Records the instance's consumers committed after writing them to the database (its Kafka metrics). */
    public static long committedBy(ServiceProcess s) {
        try {
            return health(s).get("checks").get("kafka").path("committed").asLong();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /** Entry files in an instance's local store. */
    public static long entries(Path dataDir) throws Exception {
        Path store = dataDir.resolve("local-store");
        if (!Files.exists(store)) {
            return 0;
        }
        while (true) {
            try (Stream<Path> files = Files.walk(store)) {
                return files.filter(Files::isRegularFile)
                        .filter(f -> f.getFileName().toString().endsWith(".json") && !f.getFileName().toString().startsWith("."))
                        .count();
            } catch (UncheckedIOException | NoSuchFileException e) {
                // the running instance renamed or removed a file while it was walked (a temp file becoming an
                // entry, a drained entry): count again
                Throwable cause = e instanceof UncheckedIOException ? e.getCause() : e;
                if (!(cause instanceof NoSuchFileException)) {
                    throw e;
                }
            }
        }
    }

    /** Rows of a query by user id: the first column the user, the next three as text. */
    public static Map<UUID, String[]> rows(Statement st, String sql) throws Exception {
        Map<UUID, String[]> out = new HashMap<>();
        try (ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.put(UUID.fromString(rs.getString(1)), new String[] {rs.getString(2), rs.getString(3), rs.getString(4)});
            }
        }
        return out;
    }

    /** One line of a test's timeline: seconds since {@code t0}, what happened. */
    public static void mark(List<String> timeline, long t0, String what) {
        timeline.add(String.format("%6.1f s  %s", (System.nanoTime() - t0) / 1e9, what));
    }

    public static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    public static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
