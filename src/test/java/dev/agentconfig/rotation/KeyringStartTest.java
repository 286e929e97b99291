package dev.agentconfig.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.AppConfiguration;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.crypto.Keyring;
import dev.agentconfig.db.EmbeddedDatabase;
import dev.agentconfig.json.Json;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What the start says about keys, on the embedded database: the key generated on the first start is
 * written once; without it (its file gone) the data it sealed stops the start, naming its key id, and no
 * new key is generated; a wrong key, a key file holding another key than its name says, and two active
 * keys are refused; a keyring with the old key and a new active one starts and reads what the old one
 * sealed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KeyringStartTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private Path data;
    private Path keyFile;
    private String generated;
    private String generatedId;
    private final String tenant = "acme";
    private final UUID user = UUID.randomUUID();
    private final String apiKey = "key_TESTSECRET_" + HexFormat.of().formatHex(bytes(12));

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    @BeforeAll
    void firstStartGeneratesTheKeyAndSealsWithIt() throws Exception {
        data = Files.createTempDirectory("acs-keys-").resolve("data");
        keyFile = data.resolve("secrets/encryption.key");
        try (Service first = new Service(new Properties())) {
            assertThat(keyFile).exists();
            assertThat(Files.getPosixFilePermissions(keyFile))
                    .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
            HttpResponse<String> saved = first.put(user, "{\"retellApiKey\":\"" + apiKey + "\"}");
            assertThat(saved.statusCode()).as(saved.body()).isEqualTo(200);
        }
        generated = Files.readString(keyFile, StandardCharsets.UTF_8).trim();
        generatedId = Keyring.keyIdOf(Base64.getDecoder().decode(generated));
    }

    @AfterAll
    void stopDatabases() {
        EmbeddedDatabase.stopAll();
    }

    @Test
    void aMissingKeyFileWithSealedDataStopsTheStartAndNoKeyIsGenerated() throws Exception {
        Path aside = keyFile.resolveSibling("encryption.key.aside");
        Files.move(keyFile, aside);
        try {
            Throwable refused = catchThrowable(() -> new Service(new Properties()).close());
            String message = KeyRotationTest.messages(refused);
            System.out.println("FIGURE missing key file: " + message);
            assertThat(refused).isNotNull();
            assertThat(message).contains(keyFile + " is missing, but the data holds 2 sealed API key(s)")
                    .contains(generatedId).contains("a new key is never generated over existing data");
            assertThat(keyFile).as("no key was generated in its place").doesNotExist();
        } finally {
            Files.move(aside, keyFile, StandardCopyOption.REPLACE_EXISTING);
        }
        // back in place: the same key, the value reads again
        try (Service again = new Service(new Properties())) {
            assertThat(Files.readString(keyFile).trim()).isEqualTo(generated);
            JsonNode view = Json.tree(again.get(user).body());
            assertThat(view.get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(apiKey));
        }
    }

    @Test
    void aWrongKeyIsRefusedNamingTheKeyTheDataNeeds() {
        byte[] wrong = bytes(32);
        Properties p = new Properties();
        p.setProperty("agentconfig.encryption.key", Base64.getEncoder().encodeToString(wrong));
        Throwable refused = catchThrowable(() -> new Service(p).close());
        String message = KeyRotationTest.messages(refused);
        System.out.println("FIGURE wrong key: " + message);
        assertThat(message).contains("stored data needs encryption key(s) that are not in the keyring: " + generatedId
                + " (user_profiles 1, user_settings 1, local store 0)")
                .contains("Keyring: " + Keyring.keyIdOf(wrong) + " (active)")
                .doesNotContain(generated).doesNotContain(Base64.getEncoder().encodeToString(wrong));
    }

    @Test
    void aKeyFileHoldingAnotherKeyThanItsNameIsRefused() throws Exception {
        byte[] other = bytes(32);
        Path dir = Files.createTempDirectory("acs-keydir-");
        Files.writeString(dir.resolve(Keyring.keyIdOf(other) + ".key"), generated + "\n");
        Properties p = new Properties();
        p.setProperty("agentconfig.encryption.key-dir", dir.toString());
        Throwable refused = catchThrowable(() -> new Service(p).close());
        String message = KeyRotationTest.messages(refused);
        System.out.println("FIGURE key file under another key's name: " + message);
        assertThat(message).contains("the key labelled " + Keyring.keyIdOf(other) + " is not that key (its id is "
                + generatedId + ")").doesNotContain(generated);
    }

    @Test
    void twoActiveKeysAreRefused() {
        byte[] next = bytes(32);
        String nextId = Keyring.keyIdOf(next);
        Properties p = new Properties();
        p.setProperty("agentconfig.encryption.keys", Base64.getEncoder().encodeToString(next));
        p.setProperty("agentconfig.encryption.active-key", generatedId + "," + nextId);
        Throwable refused = catchThrowable(() -> new Service(p).close());
        String message = KeyRotationTest.messages(refused);
        System.out.println("FIGURE two active keys: " + message);
        assertThat(message).contains("agentconfig.encryption.active-key names 2 keys (" + generatedId + ", " + nextId
                + "): exactly one key is active");
        // and several keys with none named active
        Properties none = new Properties();
        none.setProperty("agentconfig.encryption.keys", Base64.getEncoder().encodeToString(next));
        assertThat(KeyRotationTest.messages(catchThrowable(() -> new Service(none).close())))
                .contains("the keyring holds 2 keys (" + nextId + ", " + generatedId + ")")
                .contains("does not say which one seals new values");
    }

    @Test
    void theOldKeyFileAndANewActiveKeyStartReadTheOldValueAndSealWithTheNewKey() throws Exception {
        Path dir = Files.createTempDirectory("acs-keydir-");
        byte[] next = bytes(32);
        String nextId = Keyring.keyIdOf(next);
        Files.writeString(dir.resolve(nextId + ".key"), Base64.getEncoder().encodeToString(next));
        Properties p = new Properties();
        p.setProperty("agentconfig.encryption.key-dir", dir.toString());
        p.setProperty("agentconfig.encryption.active-key", nextId);
        UUID other = UUID.randomUUID();
        try (Service both = new Service(p)) {
            assertThat(Json.tree(both.get(user).body()).get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(apiKey));
            assertThat(both.put(other, "{\"retellApiKey\":\"key_TESTSECRET_" + HexFormat.of().formatHex(bytes(8))
                    + "\"}").statusCode()).isEqualTo(200);
            JsonNode keys = Json.tree(both.send(HttpRequest.newBuilder(URI.create(both.base() + "/api/v1/admin/keys")))
                    .body());
            assertThat(keys.get("activeKeyId").asText()).isEqualTo(nextId);
            assertThat(keys.get("keys").get(nextId).get("values").get("user_profiles").asLong()).isEqualTo(1);
            assertThat(keys.get("keys").get(generatedId).get("total").asLong()).isEqualTo(2);
            assertThat(keys.get("keys").get(generatedId).get("retirable").asBoolean()).isFalse();
        }
        // the value the new key sealed needs it now: the old key alone is refused, naming the new one
        Throwable refused = catchThrowable(() -> new Service(new Properties()).close());
        assertThat(KeyRotationTest.messages(refused)).contains("stored data needs encryption key(s) that are not in the "
                + "keyring: " + nextId);
        // the other tests expect the data dir as the first start left it: the second user goes
        try (Service both = new Service(p)) {
            try (Connection c = both.database().getConnection(); Statement st = c.createStatement()) {
                st.execute("DELETE FROM public.user_profiles WHERE user_id = '" + other + "'");
                st.execute("DELETE FROM public.user_settings WHERE user_id = '" + other + "'");
            }
        }
    }

    /**
     * docs/key-rotation.md, embedded mode, step by step: the new key made under data/secrets (0600), added and
     * made active, the rotation, the old key file moved to a backup, and the new key file made the key file.
     * Then the README's plain start (no key configured) starts and reads the value. Before: the documented
     * last step deleted the key file and kept the new key configured, so the plain start was refused with
     * "Restore the key file from a backup", which invites the retired key. Now the refusal in between (the
     * old file moved away, the new one not yet renamed) names the file that holds the key the data needs.
     */
    @Test
    void theDocumentedEmbeddedRotationEndsWithThePlainStartWorking() throws Exception {
        Path classData = data;
        Path classKeyFile = keyFile;
        data = Files.createTempDirectory("acs-keys-rotated-").resolve("data");
        keyFile = data.resolve("secrets/encryption.key");
        try {
            UUID who = UUID.randomUUID();
            String secret = "key_TESTSECRET_" + HexFormat.of().formatHex(bytes(12));
            try (Service first = new Service(new Properties())) {
                assertThat(first.put(who, "{\"retellApiKey\":\"" + secret + "\"}").statusCode()).isEqualTo(200);
            }
            String oldId = Keyring.keyIdOf(Base64.getDecoder().decode(Files.readString(keyFile).trim()));
            // "Making a key": (umask 077 && openssl rand -base64 32 > data/secrets/new.key)
            Path newKeyFile = keyFile.resolveSibling("new.key");
            byte[] next = bytes(32);
            Files.writeString(newKeyFile, Base64.getEncoder().encodeToString(next) + "\n");
            Files.setPosixFilePermissions(newKeyFile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            String newId = Keyring.keyIdOf(next);
            Properties both = new Properties();
            both.setProperty("agentconfig.encryption.keys", newId + ":" + Base64.getEncoder().encodeToString(next));
            both.setProperty("agentconfig.encryption.active-key", newId);
            try (Service rotating = new Service(both)) {
                HttpResponse<String> started = rotating.send(HttpRequest.newBuilder(URI.create(rotating.base()
                        + "/api/v1/admin/keys/rotate")).POST(HttpRequest.BodyPublishers.noBody()));
                assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
                JsonNode keys = org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(200))
                        .until(() -> Json.tree(rotating.send(HttpRequest.newBuilder(URI.create(rotating.base()
                                + "/api/v1/admin/keys"))).body()), k -> k.at("/keys/" + oldId + "/retirable").asBoolean());
                assertThat(keys.at("/keys/" + newId + "/total").asLong()).isEqualTo(2);
            }
            // step 6: the old key file goes to a backup (offline), away from the data directory
            Path backup = Files.createTempDirectory("acs-key-backup-").resolve("encryption.key." + oldId);
            Files.move(keyFile, backup);
            Throwable refused = catchThrowable(() -> new Service(new Properties()).close());
            String message = KeyRotationTest.messages(refused);
            System.out.println("FIGURE key file moved away after a rotation: " + message);
            assertThat(message).contains(newKeyFile + " holds key " + newId + ": make it the key file (mv " + newKeyFile
                    + " " + keyFile + ")").doesNotContain("from a backup").doesNotContain(oldId + " ");
            assertThat(keyFile).as("no key was generated in its place").doesNotExist();
            // the new key becomes the key file: the README's plain start works and reads the value
            Files.move(newKeyFile, keyFile);
            try (Service plain = new Service(new Properties())) {
                assertThat(Json.tree(plain.get(who).body()).get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(secret));
            }
            assertThat(Files.getPosixFilePermissions(keyFile))
                    .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        } finally {
            data = classData;
            keyFile = classKeyFile;
        }
    }

    /** The whole service in this JVM on the embedded database of the class's data dir. */
    final class Service implements AutoCloseable {
        private final Main main = new Main();
        private final int port = freePort();
        private final String token = "svc_" + UUID.randomUUID();
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

        Service(Properties extra) throws Exception {
            Properties p = new Properties();
            p.setProperty("agentconfig.data-dir", data.toString());
            p.setProperty("agentconfig.http.port", String.valueOf(port));
            p.setProperty("agentconfig.auth.service-token", token);
            p.setProperty("agentconfig.sync.interval", "60m");
            p.setProperty("agentconfig.sync.initial-delay", "60m");
            p.putAll(extra);
            main.configure().addConfiguration(AppConfiguration.class);
            main.setOverrideProperties(p);
            try {
                main.start();
            } catch (Exception | Error e) {
                main.stop();
                EmbeddedDatabase.stopAll();
                throw e;
            }
        }

        HttpResponse<String> put(UUID who, String json) {
            return send(HttpRequest.newBuilder(URI.create(base() + "/api/v1/agent-config/" + tenant + "/" + who))
                    .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(json)));
        }

        HttpResponse<String> get(UUID who) {
            return send(HttpRequest.newBuilder(URI.create(base() + "/api/v1/agent-config/" + tenant + "/" + who)).GET());
        }

        javax.sql.DataSource database() {
            return main.getCamelContext().getRegistry().lookupByNameAndType("dataSource", javax.sql.DataSource.class);
        }

        String base() {
            return "http://127.0.0.1:" + port;
        }

        HttpResponse<String> send(HttpRequest.Builder b) {
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

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
