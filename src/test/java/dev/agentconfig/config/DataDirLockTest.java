package dev.agentconfig.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import dev.agentconfig.AppConfiguration;
import dev.agentconfig.db.EmbeddedDatabase;
import dev.agentconfig.testing.ServiceProcess;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * One data dir, one service: a second service on the same data dir (in this JVM, or another
 * process) is refused before it touches the database or the local store, with a message naming
 * the directory and the process that holds it; the first keeps working; once the first has
 * stopped the data dir can be used again.
 */
class DataDirLockTest {
    private static final byte[] KEY = new byte[32];

    @AfterAll
    static void stopDatabases() {
        EmbeddedDatabase.stopAll();
    }

    @Test
    void theDataDirectoryIsTheOwnersAloneAndSoIsItsLockFile() throws Exception {
        Path fresh = Files.createTempDirectory("acs-perm-").resolve("data");
        DataDirLock created = DataDirLock.acquire(fresh);
        try {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh))).isEqualTo("rwx------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh.resolve(".lock"))))
                    .isEqualTo("rw-------");
        } finally {
            created.stop();
        }
        // one an operator made (or an older version left) readable by everyone is narrowed at start
        Path wide = Files.createTempDirectory("acs-perm-").resolve("data");
        Files.createDirectories(wide);
        Files.setPosixFilePermissions(wide, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.write(wide.resolve(".lock"), new byte[0]);
        Files.setPosixFilePermissions(wide.resolve(".lock"), PosixFilePermissions.fromString("rw-r--r--"));
        DataDirLock narrowed = DataDirLock.acquire(wide);
        try {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(wide))).isEqualTo("rwx------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(wide.resolve(".lock"))))
                    .isEqualTo("rw-------");
        } finally {
            narrowed.stop();
        }
    }

    @Test
    void aSecondServiceOnTheSameDataDirIsRefusedAndTheFirstKeepsWorking() throws Exception {
        Path data = Files.createTempDirectory("acs-lock-").resolve("data");
        String myPid = String.valueOf(ProcessHandle.current().pid());
        UUID user = UUID.randomUUID();
        Service first = new Service(data);
        try {
            assertThat(first.put(user, "agent_first").statusCode()).isEqualTo(200);

            // the same JVM (the in-process harness runs several services in one JVM)
            Throwable refused = catchThrowable(() -> new Service(data).close());
            String message = messages(refused);
            System.out.println("FIGURE second service in the same JVM: " + message);
            assertThat(refused).as("a second service on the same data dir in this JVM").isNotNull();
            assertThat(message).contains(data.toString()).contains("pid " + myPid);

            // another process: the packaged service's main class, from the test class path
            int port = freePort();
            // where CI's plaintext-key scan reads every started process's output
            Files.createDirectories(ServiceProcess.LOG_DIR);
            Path out = ServiceProcess.LOG_DIR.resolve("DataDirLockTest-second-" + myPid + ".log");
            Process other = new ProcessBuilder(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                    "-cp", System.getProperty("java.class.path"),
                    "-Dagentconfig.data-dir=" + data, "-Dagentconfig.http.port=" + port,
                    "dev.agentconfig.Application"))
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            assertThat(other.waitFor(120, TimeUnit.SECONDS)).as("the second process exits").isTrue();
            String output = Files.readString(out);
            System.out.println("FIGURE second service in another process: exit " + other.exitValue() + ", "
                    + output.lines().filter(l -> l.contains("failed to start")).findFirst().orElse(output));
            assertThat(other.exitValue()).as(output).isNotZero();
            assertThat(output).contains(data.toString()).contains("pid " + myPid)
                    .doesNotContain("Embedded PostgreSQL started");

            // the first is untouched: it still saves, its database still answers
            assertThat(first.put(user, "agent_still_first").statusCode()).isEqualTo(200);
            assertThat(first.get(user).body()).contains("agent_still_first");
        } finally {
            first.close();
        }

        Service again = new Service(data);
        try {
            HttpResponse<String> read = again.get(user);
            assertThat(read.statusCode()).isEqualTo(200);
            assertThat(read.body()).contains("agent_still_first");
        } finally {
            again.close();
        }
    }

    private static String messages(Throwable t) {
        List<String> all = new ArrayList<>();
        for (Throwable c = t; c != null; c = c.getCause()) {
            all.add(c.getClass().getSimpleName() + ": " + c.getMessage());
        }
        return String.join(" <- ", all);
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The whole service in this JVM on the embedded database of {@code dataDir}. */
    static final class Service implements AutoCloseable {
        private final Main main = new Main();
        private final int port = freePort();
        private final String token = "svc_" + UUID.randomUUID();
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

        Service(Path dataDir) throws Exception {
            Properties p = new Properties();
            p.setProperty("agentconfig.data-dir", dataDir.toString());
            p.setProperty("agentconfig.http.port", String.valueOf(port));
            p.setProperty("agentconfig.encryption.key", Base64.getEncoder().encodeToString(KEY));
            p.setProperty("agentconfig.auth.service-token", token);
            p.setProperty("agentconfig.sync.interval", "60m");
            p.setProperty("agentconfig.sync.initial-delay", "60m");
            main.configure().addConfiguration(AppConfiguration.class);
            main.setOverrideProperties(p);
            try {
                main.start();
            } catch (Exception | Error e) {
                main.stop();
                throw e;
            }
        }

        HttpResponse<String> put(UUID user, String callAgentId) {
            return send(HttpRequest.newBuilder(URI.create(base() + "/api/v1/agent-config/acme/" + user))
                    .header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"" + callAgentId + "\"}")));
        }

        HttpResponse<String> get(UUID user) {
            return send(HttpRequest.newBuilder(URI.create(base() + "/api/v1/agent-config/acme/" + user)).GET());
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
}
