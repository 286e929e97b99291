package dev.agentconfig.sync;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.AppConfiguration;
import dev.agentconfig.json.Json;
import org.apache.camel.main.Main;

/**
 * A second instance of the whole service in the same JVM (its own Camel Main, data directory,
 * local store and HTTP port) whose database is an external one: the first instance's embedded
 * PostgreSQL. Two instances, one database, two local stores.
 */
final class SecondService implements AutoCloseable {
    private final Main main = new Main();
    private final Path dataDir;
    private final int port;
    private final String token = "svc2_" + UUID.randomUUID();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    SecondService(String jdbcUrl, String dbUser, String dbPassword, byte[] encryptionKey, Properties extra)
            throws Exception {
        this(jdbcUrl, dbUser, dbPassword, encryptionKey, extra, null);
    }

    /** @param wallClock the clock under this instance's versions (null: the system clock) */
    SecondService(String jdbcUrl, String dbUser, String dbPassword, byte[] encryptionKey, Properties extra,
                  java.time.Clock wallClock)
            throws Exception {
        dataDir = Files.createTempDirectory("acs-second-");
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Properties p = new Properties();
        p.setProperty("agentconfig.data-dir", dataDir.toString());
        p.setProperty("agentconfig.http.port", String.valueOf(port));
        p.setProperty("agentconfig.db.url", jdbcUrl);
        p.setProperty("agentconfig.db.user", dbUser);
        p.setProperty("agentconfig.db.password", dbPassword);
        p.setProperty("agentconfig.encryption.key", Base64.getEncoder().encodeToString(encryptionKey));
        p.setProperty("agentconfig.auth.service-token", token);
        p.setProperty("agentconfig.db.connect-timeout", "400ms");
        p.setProperty("agentconfig.db.statement-timeout", "1500ms");
        p.setProperty("agentconfig.breaker.probe-interval", "200ms");
        p.setProperty("agentconfig.sync.interval", "60m");
        p.setProperty("agentconfig.sync.initial-delay", "60m");
        p.putAll(extra);
        if (wallClock != null) {
            main.bind("wallClock", wallClock);
        }
        main.configure().addConfiguration(AppConfiguration.class);
        main.setOverrideProperties(p);
        main.start();
    }

    HttpResponse<String> put(String tenant, Object user, String json) {
        return send(HttpRequest.newBuilder(URI.create(base() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)));
    }

    HttpResponse<String> get(String tenant, Object user) {
        return send(HttpRequest.newBuilder(URI.create(base() + "/api/v1/agent-config/" + tenant + "/" + user)).GET());
    }

    JsonNode sync() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(base() + "/api/v1/sync"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        if (r.statusCode() != 202) {
            throw new AssertionError("POST /api/v1/sync on the second instance answered " + r.statusCode() + " " + r.body());
        }
        return Json.tree(r.body());
    }

    Optional<JsonNode> localEntry(String tenant, UUID user) {
        Path f = dataDir.resolve("local-store").resolve(tenant).resolve(user + ".json");
        try {
            return Files.exists(f) ? Optional.of(Json.tree(Files.readString(f))) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String base() {
        return "http://127.0.0.1:" + port;
    }

    private HttpResponse<String> send(HttpRequest.Builder b) {
        try {
            return http.send(b.header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        main.stop();
    }
}
