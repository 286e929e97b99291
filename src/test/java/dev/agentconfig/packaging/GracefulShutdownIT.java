package dev.agentconfig.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.json.Json;
import dev.agentconfig.testing.ServiceProcess;
import org.junit.jupiter.api.Test;

/**
 * SIGTERM under load: the service stops taking requests, lets in-flight saves finish (or land
 * in the local store), then stops. Every acknowledged save is found after a restart, no answer
 * was a 5xx other than a documented 503, and no half-written file is left.
 */
class GracefulShutdownIT {

    @Test
    void sigtermUnderLoadLosesNothing() throws Exception {
        Path root = Files.createTempDirectory("acs-term-");
        Path data = root.resolve("data");
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String token = "term-test-token";
        Map<String, String> env = Map.of("AGENTCONFIG_AUTH_SERVICE_TOKEN", token);
        ServiceProcess service = new ServiceProcess(data, port, env, List.of()).start().awaitReady();

        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        Map<UUID, String> acknowledged = new ConcurrentHashMap<>();
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger refusedConnections = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(8);
        for (int c = 0; c < 8; c++) {
            clients.submit(() -> {
                while (!stop.get()) {
                    UUID user = UUID.randomUUID();
                    String value = "v_" + user.toString().substring(0, 8);
                    try {
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(service.baseUrl()
                                        + "/api/v1/agent-config/acme/" + user))
                                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                                .timeout(Duration.ofSeconds(30))
                                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"" + value + "\"}")).build(),
                                HttpResponse.BodyHandlers.ofString());
                        statuses.computeIfAbsent(r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
                        if (r.statusCode() == 200 || r.statusCode() == 202) {
                            acknowledged.put(user, value);
                        }
                    } catch (Exception e) {
                        refusedConnections.incrementAndGet();
                        if (!service.process().isAlive()) {
                            return null;
                        }
                    }
                }
                return null;
            });
        }
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> acknowledged.size() >= 200);
        int exit = service.stop(); // SIGTERM while the clients keep sending
        stop.set(true);
        clients.shutdown();
        assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();

        assertThat(exit).as(service.output()).isIn(0, 143);
        assertThat(statuses.keySet()).as("statuses %s", statuses).allMatch(s -> s == 200 || s == 202 || s == 503);
        try (Stream<Path> files = Files.walk(data.resolve("local-store"))) {
            assertThat(files.map(Path::toString).filter(n -> n.endsWith(".tmp")).toList()).isEmpty();
        }

        ServiceProcess again = new ServiceProcess(data, port, env, List.of()).start().awaitReady();
        try (Connection c = again.connectDatabase();
             PreparedStatement ps = c.prepareStatement(
                     "SELECT encrypted_agent_config->>'call_agent_id' FROM public.user_profiles WHERE user_id = ?")) {
            int inDatabase = 0;
            int inLocalStore = 0;
            for (var e : acknowledged.entrySet()) {
                ps.setObject(1, e.getKey());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next() && e.getValue().equals(rs.getString(1))) {
                        inDatabase++;
                        continue;
                    }
                }
                Path entry = data.resolve("local-store/acme/" + e.getKey() + ".json");
                assertThat(entry).as("acknowledged save %s is neither in the database nor in the local store", e.getKey())
                        .exists();
                JsonNode json = Json.tree(Files.readString(entry));
                assertThat(json.get("fields").get("callAgentId").get("value").asText()).isEqualTo(e.getValue());
                inLocalStore++;
            }
            System.out.printf("SIGTERM under load: %d acknowledged (%d in the database, %d in the local store), "
                    + "answers %s, %d connections refused after the stop%n", acknowledged.size(), inDatabase, inLocalStore,
                    statuses, refusedConnections.get());
        } finally {
            again.stop();
        }
    }
}
