package dev.agentconfig.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import dev.agentconfig.testing.ServiceProcess;
import org.junit.jupiter.api.Test;

/**
 * The shaded jar works as a product: Camel's service files survived packaging (YAML DSL, type
 * converters, the HTTP server, Flyway's PostgreSQL support), it starts on the embedded database
 * from the repository root, generates its dev secrets once, saves for real, stops on SIGTERM and
 * keeps its data across a restart.
 */
class PackagedJarIT {

    @Test
    void theJarStartsSavesStopsAndKeepsItsData() throws Exception {
        Path root = Files.createTempDirectory("acs-jar-");
        Path data = root.resolve("data");
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        UUID user = UUID.randomUUID();
        HttpClient http = HttpClient.newHttpClient();

        ServiceProcess service = new ServiceProcess(data, port, Map.of(), List.of()).start().awaitReady();
        try {
            Path tokenFile = data.resolve("secrets/service-token");
            Path keyFile = data.resolve("secrets/encryption.key");
            assertThat(Files.getPosixFilePermissions(tokenFile))
                    .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
            assertThat(Files.getPosixFilePermissions(keyFile))
                    .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
            String token = Files.readString(tokenFile).trim();
            assertThat(service.output()).contains("it is shown this once", token, "curl -X PUT");

            HttpResponse<String> saved = http.send(HttpRequest.newBuilder(URI.create(
                            service.baseUrl() + "/api/v1/agent-config/acme/" + user))
                    .header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"agent_jar\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(saved.statusCode()).as(saved.body()).isEqualTo(200);
            assertThat(saved.body()).contains("\"status\":\"saved\"");

            HttpResponse<String> unknown = http.send(HttpRequest.newBuilder(URI.create(service.baseUrl() + "/nope"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(unknown.statusCode()).isEqualTo(404);
            assertThat(unknown.headers().firstValue("Content-Type")).hasValue("application/problem+json");

            int exit = service.stop();
            assertThat(exit).as(service.output()).isIn(0, 143);
            assertThat(data.resolve("pg/postmaster.pid")).doesNotExist();

            // second start: same secrets, the token is not printed again, the row is still there
            ServiceProcess again = new ServiceProcess(data, port, Map.of(), List.of()).start().awaitReady();
            try {
                assertThat(Files.readString(tokenFile).trim()).isEqualTo(token);
                assertThat(again.output()).doesNotContain(token).contains("cat " + tokenFile);
                try (Connection c = again.connectDatabase();
                     ResultSet rs = c.createStatement().executeQuery(
                             "SELECT encrypted_agent_config->>'call_agent_id' FROM public.user_profiles WHERE user_id = '"
                                     + user + "'")) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isEqualTo("agent_jar");
                }
            } finally {
                again.stop();
            }
        } finally {
            service.close();
        }
    }

    @Test
    void anExternalDatabaseWithoutAnEncryptionKeyIsRefusedAtStart() throws Exception {
        Path root = Files.createTempDirectory("acs-jar-nokey-");
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ServiceProcess service = new ServiceProcess(root.resolve("data"), port,
                Map.of("AGENTCONFIG_DB_URL", "jdbc:postgresql://127.0.0.1:1/nowhere",
                        "AGENTCONFIG_AUTH_SERVICE_TOKEN", "a-token"), List.of()).start();
        assertThat(service.process().waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(service.process().exitValue()).isNotZero();
        assertThat(service.output()).contains("AGENTCONFIG_ENCRYPTION_KEY").contains("required with an external database");
        // issue 21: nobody sent a signal, and the log does not say one came (before: "JVM shutdown hook triggered by
        // SIGTERM" after the refusal)
        assertThat(service.output()).doesNotContain("SIGTERM");
        assertThat(root.resolve("data/secrets/encryption.key")).doesNotExist();
    }
}
