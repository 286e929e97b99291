package dev.agentconfig.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.crypto.Keyring;
import dev.agentconfig.json.Json;
import dev.agentconfig.testing.ServiceProcess;
import org.junit.jupiter.api.Test;

/**
 * The packaged service killed (SIGKILL) in the middle of a key rotation, then started again: the rotation
 * resumes by itself and ends as if nothing had happened (every value under the new key, each at its
 * version, the legacy plaintext gone); then the old key is removed and the service starts and reads every
 * value. The same for the command {@code java -jar agent-config-sync.jar rotate-keys}: killed midway, run
 * again, finished.
 */
class KeyRotationCrashIT {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int USERS = 1500;
    private static final String TENANT = "rotation";

    record Seeded(String plaintext, long version) {
    }

    @Test
    void aRotationKilledMidwayResumesAtTheNextStartAndTheOldKeyCanThenBeRemoved() throws Exception {
        Path data = Files.createTempDirectory("acs-rotation-crash-").resolve("data");
        int port = freePort();
        Map<UUID, Seeded> seeded = seed(data, port);
        String oldKey = Files.readString(data.resolve("secrets/encryption.key")).trim();
        String oldId = Keyring.keyIdOf(Base64.getDecoder().decode(oldKey));
        byte[] newKey = bytes(32);
        String newId = Keyring.keyIdOf(newKey);
        Map<String, String> both = Map.of("AGENTCONFIG_ENCRYPTION_KEYS", Base64.getEncoder().encodeToString(newKey),
                "AGENTCONFIG_ENCRYPTION_ACTIVE_KEY", newId);
        String token = Files.readString(data.resolve("secrets/service-token")).trim();

        // 1. the rotation starts, slowed down so that it is surely in the middle when the kill comes
        ServiceProcess rotating = new ServiceProcess(data, port, both,
                List.of("-Dagentconfig.keys.rotation.batch-size=20", "-Dagentconfig.keys.rotation.batch-pause=100ms"))
                .start().awaitReady();
        HttpResponse<String> started = send(HttpRequest.newBuilder(URI.create(rotating.baseUrl() + "/api/v1/admin/keys/rotate"))
                .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(60)).until(() -> rotating.output().contains("values re-sealed, about"));
        rotating.kill();
        long[] midway;
        try (Connection c = rotating.connectDatabase()) {
            midway = new long[] {countSealedWith(c, oldId), countSealedWith(c, newId)};
        }
        System.out.println("FIGURE killed midway: " + midway[0] + " values under the old key, " + midway[1]
                + " under the new one");
        assertThat(midway[0]).as("values left under the old key").isPositive();
        assertThat(midway[1]).as("values already under the new key").isPositive();
        assertThat(data.resolve("key-rotation.json")).as("the rotation's marker").exists();

        // 2. started again (no pause): the rotation resumes by itself and finishes
        ServiceProcess again = new ServiceProcess(data, port, both, List.of()).start().awaitReady();
        try {
            await().atMost(Duration.ofSeconds(120)).until(() -> again.output().contains("Key rotation to key " + newId
                    + " finished") || again.output().contains("Key rotation to key " + newId + " incomplete"));
            assertThat(again.output()).contains("did not finish; resuming it").contains("Key rotation to key " + newId
                    + " resumed").contains("Key rotation to key " + newId + " finished");
            System.out.println("FIGURE resumed: " + again.output().lines()
                    .filter(l -> l.contains("Key rotation to key " + newId + " finished")).findFirst().orElse(""));
            try (Connection c = again.connectDatabase()) {
                assertEverythingUnderTheNewKey(c, seeded, oldId, newKey);
            }
            assertThat(data.resolve("key-rotation.json")).doesNotExist();
            assertThat(again.stop()).isIn(0, 143);
        } finally {
            again.close();
        }

        // 3. the old key retired (its file removed): the service starts with the new key alone and reads everything
        Files.delete(data.resolve("secrets/encryption.key"));
        ServiceProcess retired = new ServiceProcess(data, port,
                Map.of("AGENTCONFIG_ENCRYPTION_KEYS", Base64.getEncoder().encodeToString(newKey)), List.of())
                .start().awaitReady();
        try {
            for (Map.Entry<UUID, Seeded> e : seeded.entrySet().stream().limit(50).toList()) {
                JsonNode view = Json.tree(send(HttpRequest.newBuilder(URI.create(retired.baseUrl()
                        + "/api/v1/agent-config/" + TENANT + "/" + e.getKey())).header("Authorization", "Bearer " + token))
                        .body());
                assertThat(view.get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(e.getValue().plaintext()));
            }
            JsonNode health = Json.tree(send(HttpRequest.newBuilder(URI.create(retired.baseUrl() + "/observe/health")))
                    .body());
            assertThat(health.get("checks").get("keys").get("status").asText()).isEqualTo("UP");
            assertThat(health.get("checks").get("keys").get("detail").asText()).contains("every value is sealed with it");
            assertThat(retired.stop()).isIn(0, 143);
        } finally {
            retired.close();
        }
        assertThat(rotating.output() + again.output() + retired.output()).doesNotContain("key_TESTSECRET_")
                .doesNotContain(oldKey).doesNotContain(Base64.getEncoder().encodeToString(newKey));
    }

    @Test
    void theRotateKeysCommandKilledMidwayFinishesWhenRunAgain() throws Exception {
        Path data = Files.createTempDirectory("acs-rotation-command-").resolve("data");
        int port = freePort();
        Map<UUID, Seeded> seeded = seed(data, port);
        String oldKey = Files.readString(data.resolve("secrets/encryption.key")).trim();
        String oldId = Keyring.keyIdOf(Base64.getDecoder().decode(oldKey));
        byte[] newKey = bytes(32);
        String newId = Keyring.keyIdOf(newKey);
        Map<String, String> both = Map.of("AGENTCONFIG_ENCRYPTION_KEYS", Base64.getEncoder().encodeToString(newKey),
                "AGENTCONFIG_ENCRYPTION_ACTIVE_KEY", newId);

        ServiceProcess command = new ServiceProcess(data, port, both,
                List.of("-Dagentconfig.keys.rotation.batch-size=20", "-Dagentconfig.keys.rotation.batch-pause=100ms"),
                List.of("rotate-keys")).start();
        await().atMost(Duration.ofSeconds(90)).until(() -> command.output().contains("values re-sealed, about")
                || !command.process().isAlive());
        assertThat(command.process().isAlive()).as(command.output()).isTrue();
        assertThat(command.output()).doesNotContain("up on http").doesNotContain("HTTP endpoints summary");
        command.kill();
        assertThat(data.resolve("key-rotation.json")).exists();

        ServiceProcess rerun = new ServiceProcess(data, port, both, List.of(), List.of("rotate-keys")).start();
        assertThat(rerun.process().waitFor(180, TimeUnit.SECONDS)).as("the command ends").isTrue();
        System.out.println("FIGURE rotate-keys after a kill: exit " + rerun.process().exitValue() + ", "
                + rerun.output().lines().filter(l -> l.startsWith("rotate-keys:")).findFirst().orElse(rerun.output()));
        assertThat(rerun.process().exitValue()).as(rerun.output()).isZero();
        assertThat(rerun.output()).contains("rotate-keys: finished").contains("Key rotation to key " + newId + " resumed");
        assertThat(data.resolve("key-rotation.json")).doesNotExist();

        // the values, checked with the service running on the new key alone
        Files.delete(data.resolve("secrets/encryption.key"));
        ServiceProcess retired = new ServiceProcess(data, port,
                Map.of("AGENTCONFIG_ENCRYPTION_KEYS", Base64.getEncoder().encodeToString(newKey)), List.of())
                .start().awaitReady();
        try (Connection c = retired.connectDatabase()) {
            assertEverythingUnderTheNewKey(c, seeded, oldId, newKey);
        } finally {
            assertThat(retired.stop()).isIn(0, 143);
            retired.close();
        }
        assertThat(command.output() + rerun.output() + retired.output()).doesNotContain("key_TESTSECRET_")
                .doesNotContain(oldKey);
    }

    // ----- helpers --------------------------------------------------------------------------------

    /** The service on a new data dir (its key generated), USERS keys saved over HTTP, two legacy rows; stopped. */
    private static Map<UUID, Seeded> seed(Path data, int port) throws Exception {
        Map<UUID, Seeded> seeded = new ConcurrentHashMap<>();
        ServiceProcess first = new ServiceProcess(data, port, Map.of(), List.of()).start().awaitReady();
        try {
            String token = Files.readString(data.resolve("secrets/service-token")).trim();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < USERS / 4; i++) {
                        UUID user = UUID.randomUUID();
                        String key = "key_TESTSECRET_" + HexFormat.of().formatHex(bytes(12));
                        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(first.baseUrl()
                                        + "/api/v1/agent-config/" + TENANT + "/" + user))
                                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                                .PUT(HttpRequest.BodyPublishers.ofString("{\"retellApiKey\":\"" + key + "\"}")));
                        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                        seeded.put(user, new Seeded(key, Json.tree(r.body()).get("version").asLong()));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
            pool.shutdown();
            try (Connection c = first.connectDatabase(); Statement st = c.createStatement()) {
                for (int i = 0; i < 2; i++) {
                    UUID user = UUID.randomUUID();
                    String key = "key_TESTSECRET_" + HexFormat.of().formatHex(bytes(12));
                    st.execute("ALTER TABLE public.user_settings DISABLE TRIGGER user_settings_guard");
                    st.execute("INSERT INTO public.user_settings (user_id, tenant_id, retell_config) VALUES ('" + user
                            + "', '" + TENANT + "', '{\"api_key\":\"" + key + "\"}')");
                    st.execute("ALTER TABLE public.user_settings ENABLE TRIGGER user_settings_guard");
                    seeded.put(user, new Seeded(key, 1));
                }
            }
            assertThat(first.stop()).isIn(0, 143);
        } finally {
            first.close();
        }
        // the process that received every plaintext key
        assertThat(first.output()).as("the seeding process's log").contains("Embedded PostgreSQL started")
                .doesNotContain("key_TESTSECRET_");
        return seeded;
    }

    private static void assertEverythingUnderTheNewKey(Connection c, Map<UUID, Seeded> seeded, String oldId,
                                                       byte[] newKey) throws Exception {
        assertThat(countSealedWith(c, oldId)).isZero();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM public.user_settings WHERE retell_config ->> 'api_key' IS NOT NULL")) {
            rs.next();
            assertThat(rs.getLong(1)).as("legacy plaintext left").isZero();
        }
        FieldCipher newOnly = new FieldCipher(newKey);
        String sql = "SELECT p.encrypted_retell_api_key, (p.field_versions ->> 'retellApiKey')::bigint, "
                + "s.encrypted_api_keys ->> 'retell_api_key', (s.field_versions ->> 'retellApiKey')::bigint "
                + "FROM public.user_profiles p JOIN public.user_settings s USING (user_id) WHERE user_id = CAST(? AS uuid)";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (Map.Entry<UUID, Seeded> e : seeded.entrySet()) {
                ps.setString(1, e.getKey().toString());
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).as("rows of " + e.getKey()).isTrue();
                    String aad = TENANT + ":" + e.getKey() + ":retellApiKey";
                    for (int column : new int[] {1, 3}) {
                        assertThat(newOnly.open(rs.getString(column), aad).equals(e.getValue().plaintext()))
                                .as("key of " + e.getKey()).isTrue();
                        assertThat(rs.getLong(column + 1)).as("version of " + e.getKey()).isEqualTo(e.getValue().version());
                    }
                }
            }
        }
    }

    private static long countSealedWith(Connection c, String keyId) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("SELECT (SELECT count(*) FROM public.user_profiles WHERE "
                + "encrypted_retell_api_key LIKE ?) + (SELECT count(*) FROM public.user_settings WHERE "
                + "encrypted_api_keys ->> 'retell_api_key' LIKE ?)")) {
            ps.setString(1, "v1:" + keyId + ":%");
            ps.setString(2, "v1:" + keyId + ":%");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static HttpResponse<String> send(HttpRequest.Builder b) {
        try {
            return HTTP.send(b.timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
