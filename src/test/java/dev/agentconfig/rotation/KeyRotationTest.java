package dev.agentconfig.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.AppConfiguration;
import dev.agentconfig.core.Changes;
import dev.agentconfig.core.Failures;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.core.Origin;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.crypto.Keyring;
import dev.agentconfig.json.Json;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.testing.ServiceTestSupport;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Key rotation on the jdbc transport, the whole service in-process. The keyring holds the old key (in
 * agentconfig.encryption.keys) and the new one (agentconfig.encryption.key), the new one active. Values the
 * old key sealed are planted as the service would have written them: both tables, pending local-store
 * entries, and legacy rows with the seed's plaintext key.
 */
class KeyRotationTest extends ServiceTestSupport {
    // assigned in extraProperties (superclass constructor): no initializers
    private byte[] oldKey;
    private String oldId;
    private String newId;
    private final List<UUID> planted = new CopyOnWriteArrayList<>();

    @Override
    protected Properties extraProperties() {
        oldKey = randomBytes(32);
        oldId = Keyring.keyIdOf(oldKey);
        newId = Keyring.keyIdOf(encryptionKey);
        Properties p = new Properties();
        p.setProperty("agentconfig.encryption.keys", oldId + ":" + Base64.getEncoder().encodeToString(oldKey));
        p.setProperty("agentconfig.encryption.active-key", newId);
        // small batches with a pause: the rotation spans many batches while the saves go on
        p.setProperty("agentconfig.keys.rotation.batch-size", "25");
        p.setProperty("agentconfig.keys.rotation.batch-pause", "15ms");
        return p;
    }

    /** Every test leaves the tables as it found them: nothing it planted stays (under any key). */
    @AfterEach
    void removePlanted() {
        cleanUp(planted.toArray(UUID[]::new));
        planted.clear();
        context.getRegistry().lookupByNameAndType("keyUsage", KeyUsage.class).refresh();
    }

    @AfterAll
    void oldKeyNeverLogged() {
        assertThat(logs.text()).doesNotContain(Base64.getEncoder().encodeToString(oldKey));
    }

    /** What a user's key must be: its plaintext at its version. */
    record Expected(String plaintext, long version) {
    }

    @Test
    void rotationUnderLoadLeavesNothingUnderTheOldKeyAndLosesNoSave() throws Exception {
        FieldCipher old = new FieldCipher(oldKey);
        FieldCipher newOnly = new FieldCipher(encryptionKey);
        String tenant = newTenant();
        long v1 = HybridLogicalClock.micros(Instant.now().minusSeconds(3600));
        Map<UUID, Expected> expected = new ConcurrentHashMap<>();
        List<UUID> users = new ArrayList<>();

        // 300 users with their key sealed by the old key in both tables
        for (int i = 0; i < 300; i++) {
            UUID user = newUser();
            String key = newKey();
            plantSealed(tenant, user, old.seal(key, aad(tenant, user)), v1 + i, true, true);
            expected.put(user, new Expected(key, v1 + i));
            users.add(user);
        }
        // 40 of them saved again later: user_profiles took it, user_settings did not (pending locally)
        LocalStore store = context.getRegistry().lookupByNameAndType("localStore", LocalStore.class);
        for (int i = 0; i < 40; i++) {
            UUID user = users.get(i);
            String key = newKey();
            long v = v1 + 1000 + i;
            String envelope = old.seal(key, aad(tenant, user));
            plantSealed(tenant, user, envelope, v, true, false);
            store.park(SealedSave.of(UserKey.of(tenant, user.toString()), UUID.randomUUID(), v,
                    Changes.of(Map.of(Field.RETELL_API_KEY, envelope)), Origin.HTTP, true),
                    Map.of(Target.USER_SETTINGS, Failures.ofSqlState("08006", "connection lost")));
            expected.put(user, new Expected(key, v));
        }
        // 20 legacy rows: the seed's plaintext key in user_settings.retell_config, no version anywhere
        List<UUID> legacyUsers = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            UUID user = newUser();
            String key = newKey();
            plantLegacy(tenant, user, key);
            expected.put(user, new Expected(key, 1));
            legacyUsers.add(user);
            users.add(user);
        }
        assertThat(countSealedWith(oldId)).isEqualTo(300 + 300);
        assertThat(store.sealedKeyIds()).containsEntry(oldId, 40L);

        // saves over HTTP all along: some to these users (their newest save must win), some to new users
        AtomicBoolean stop = new AtomicBoolean();
        List<String> failures = new CopyOnWriteArrayList<>();
        Map<UUID, List<Expected>> acknowledged = new ConcurrentHashMap<>();
        ExecutorService load = Executors.newFixedThreadPool(4);
        for (int t = 0; t < 4; t++) {
            load.submit(() -> {
                while (!stop.get()) {
                    UUID user = ThreadLocalRandom.current().nextInt(4) == 0 ? newUser()
                            : users.get(ThreadLocalRandom.current().nextInt(users.size()));
                    String key = newKey();
                    HttpResponse<String> r = put(tenant, user, "{\"retellApiKey\":\"" + key + "\"}");
                    if (r.statusCode() == 200 || r.statusCode() == 202) {
                        acknowledged.computeIfAbsent(user, u -> new CopyOnWriteArrayList<>())
                                .add(new Expected(key, json(r).get("version").asLong()));
                    } else {
                        failures.add(r.statusCode() + " " + r.body());
                    }
                }
                return null;
            });
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> acknowledged.size() >= 20);

        HttpResponse<String> started = post("/api/v1/admin/keys/rotate");
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        assertThat(json(started).get("state").asText()).isEqualTo("running");
        assertThat(json(started).get("activeKeyId").asText()).isEqualTo(newId);
        // asking again while it runs starts nothing new: the same rotation answers
        HttpResponse<String> again = post("/api/v1/admin/keys/rotate");
        assertThat(again.statusCode()).isEqualTo(202);

        JsonNode finished = await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
                .until(() -> json(get("/api/v1/admin/keys")).get("rotation"),
                        r -> !r.get("state").asText().equals("running"));
        int acksAtEnd = acknowledged.values().stream().mapToInt(List::size).sum();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> acknowledged.values().stream().mapToInt(List::size).sum() >= acksAtEnd + 20);
        stop.set(true);
        load.shutdown();
        assertThat(load.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        assertThat(failures).as("every save during the rotation was acknowledged").isEmpty();
        System.out.println("FIGURE rotation under load: " + finished + "; saves acknowledged "
                + acknowledged.values().stream().mapToInt(List::size).sum());
        assertThat(finished.get("state").asText()).as(finished.toString()).isEqualTo("finished");
        assertThat(finished.get("left").asLong()).isZero();
        assertThat(finished.get("failed").asLong()).isZero();
        assertThat(finished.get("legacySealed").asLong() + finished.get("changedMeanwhile").asLong())
                .isGreaterThanOrEqualTo(1);
        assertThat(logs.text()).contains("Key rotation to key " + newId + " started")
                .contains("Key rotation to key " + newId + " finished");

        // the pending local entries reach user_settings
        HttpResponse<String> sync = post("/api/v1/sync");
        assertThat(sync.statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(30)).until(() -> store.pendingCount() == 0);

        // 1. nothing under the old key anywhere, no plaintext left
        assertThat(countSealedWith(oldId)).isZero();
        assertThat(query("SELECT count(*) AS n FROM public.user_settings WHERE (retell_config -> 'api_key') IS NOT NULL").get(0).get("n"))
                .isEqualTo(0L);
        assertThat(localStoreText()).doesNotContain("v1:" + oldId + ":");

        // 2. no acknowledged save lost or reverted: each user's key is its newest save, readable by the new
        //    key alone, at that save's version, in both tables
        acknowledged.forEach((user, acks) -> acks.forEach(a -> expected.merge(user, a,
                (x, y) -> x.version() >= y.version() ? x : y)));
        for (Map.Entry<UUID, Expected> e : expected.entrySet()) {
            UUID user = e.getKey();
            Expected want = e.getValue();
            for (String table : List.of("user_profiles", "user_settings")) {
                Map<String, Object> row = keyRow(table, user);
                assertThat(row).as(table + " row of " + user).isNotNull();
                assertThat(row.get("version")).as(table + " version of " + user).isEqualTo(want.version());
                String envelope = (String) row.get("k");
                assertThat(envelope).as(table + " of " + user).startsWith("v1:" + newId + ":");
                assertThat(newOnly.open(envelope, aad(tenant, user)).equals(want.plaintext()))
                        .as(table + " of " + user + " holds the newest acknowledged key").isTrue();
            }
        }
        // the merged read answers the same (a sample)
        for (UUID user : users.subList(0, 30)) {
            JsonNode view = json(get("/api/v1/agent-config/" + tenant + "/" + user));
            assertThat(view.get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(expected.get(user).plaintext()));
        }
        for (UUID legacy : legacyUsers) {
            if (!acknowledged.containsKey(legacy)) {
                assertThat(keyRow("user_settings", legacy).get("version")).isEqualTo(1L);
            }
        }

        // 3. the old key can be retired: health and metrics say so, and a service with the new key alone starts
        //    and reads every value
        JsonNode keys = json(get("/api/v1/admin/keys"));
        assertThat(keys.get("keys").get(oldId).get("total").asLong()).isZero();
        assertThat(keys.get("keys").get(oldId).get("retirable").asBoolean()).isTrue();
        assertThat(keys.get("keys").get(newId).get("active").asBoolean()).isTrue();
        JsonNode health = json(send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health"))));
        JsonNode check = health.get("checks").get("keys");
        assertThat(check.get("status").asText()).isEqualTo("UP");
        assertThat(check.get("detail").asText()).contains("can be removed from the keyring: " + oldId);
        assertThat(check.get("keys").get(oldId).get("retirable").asBoolean()).isTrue();
        String metrics = get("/observe/metrics").body();
        assertThat(metrics).containsPattern("agentconfig_keys_values\\{active=\"false\",key_id=\"" + oldId
                + "\",location=\"user_profiles\"} 0\\.0");
        assertThat(metrics).containsPattern("agentconfig_keys_rotation_resealed_total\\{location=\"user_profiles\"} [1-9]");

        try (OtherService newKeyOnly = new OtherService(encryptionKey, null, null)) {
            for (Map.Entry<UUID, Expected> e : expected.entrySet()) {
                JsonNode view = Json.tree(newKeyOnly.get(tenant, e.getKey()).body());
                assertThat(view.get("retellApiKey").asText()).as("read of " + e.getKey() + " with the new key alone")
                        .isEqualTo(FieldCipher.mask(e.getValue().plaintext()));
            }
        }
        // and the old key alone is refused: the data needs the new one now
        Throwable refused = org.assertj.core.api.Assertions.catchThrowable(() -> new OtherService(oldKey, null, null).close());
        assertThat(messages(refused)).contains("stored data needs encryption key(s) that are not in the keyring")
                .contains(newId);
        System.out.println("FIGURE old key alone after the rotation: " + firstLine(messages(refused)));
    }

    /** The service's own cipher: the whole keyring (opens what the old key sealed, seals with the new). */
    private FieldCipher keyring() {
        return context.getRegistry().lookupByNameAndType("fieldCipher", FieldCipher.class);
    }

    @Test
    void aReSealNeverOverwritesASaveMadeMeanwhileAndASaveNeverLosesToIt() {
        FieldCipher old = new FieldCipher(oldKey);
        String tenant = newTenant();
        long v1 = HybridLogicalClock.micros(Instant.now().minusSeconds(600));

        // a save came between the rotation's read and its write: the compare-and-set finds another envelope
        UUID raced = newUser();
        String first = newKey();
        String firstEnvelope = old.seal(first, aad(tenant, raced));
        plantSealed(tenant, raced, firstEnvelope, v1, true, true);
        String newer = newKey();
        HttpResponse<String> saved = put(tenant, raced, "{\"retellApiKey\":\"" + newer + "\"}");
        assertThat(saved.statusCode()).isEqualTo(200);
        long savedVersion = json(saved).get("version").asLong();
        JsonNode result = reseal(raced, tenant, firstEnvelope, keyring().reseal(firstEnvelope, aad(tenant, raced)));
        assertThat(result.get(0).get("result").asText()).isEqualTo("changed");
        for (String table : List.of("user_profiles", "user_settings")) {
            Map<String, Object> row = keyRow(table, raced);
            assertThat(row.get("version")).isEqualTo(savedVersion);
            assertThat(cipher().open((String) row.get("k"), aad(tenant, raced)).equals(newer)).isTrue();
        }

        // nothing came between: replaced at the same version, nothing else changes (not even updated_at)
        UUID quiet = newUser();
        String key = newKey();
        String envelope = old.seal(key, aad(tenant, quiet));
        plantSealed(tenant, quiet, envelope, v1, true, true);
        Map<String, Object> before = query("SELECT p.updated_at AS pu, s.updated_at AS su, s.api_key_updated_at AS sk "
                + "FROM public.user_profiles p JOIN public.user_settings s USING (user_id) WHERE user_id = ?", quiet).get(0);
        String resealed = keyring().reseal(envelope, aad(tenant, quiet));
        result = reseal(quiet, tenant, envelope, resealed);
        assertThat(result.get(0).get("result").asText()).isEqualTo("resealed");
        assertThat(result.get(0).get("user_profiles").asInt() + result.get(0).get("user_settings").asInt()).isEqualTo(2);
        for (String table : List.of("user_profiles", "user_settings")) {
            Map<String, Object> row = keyRow(table, quiet);
            assertThat(row.get("version")).isEqualTo(v1);
            assertThat(row.get("k")).isEqualTo(resealed);
        }
        assertThat(query("SELECT p.updated_at AS pu, s.updated_at AS su, s.api_key_updated_at AS sk "
                + "FROM public.user_profiles p JOIN public.user_settings s USING (user_id) WHERE user_id = ?", quiet).get(0))
                .isEqualTo(before);
        // a later save wins over the re-sealed value as over any other
        String later = newKey();
        assertThat(put(tenant, quiet, "{\"retellApiKey\":\"" + later + "\"}").statusCode()).isEqualTo(200);
        assertThat(cipher().open((String) keyRow("user_profiles", quiet).get("k"), aad(tenant, quiet)).equals(later)).isTrue();

        // the exemption is that narrow: another old envelope, or a new value that is no envelope, changes nothing
        UUID guarded = newUser();
        String guardedEnvelope = old.seal(newKey(), aad(tenant, guarded));
        plantSealed(tenant, guarded, guardedEnvelope, v1, true, true);
        String other = old.seal(newKey(), aad(tenant, guarded));
        assertThat(reseal(guarded, tenant, other, keyring().reseal(other, aad(tenant, guarded))).get(0).get("result")
                .asText()).isEqualTo("changed");
        assertThat(reseal(guarded, tenant, guardedEnvelope, "key_TESTSECRET_plain0123").get(0).get("result").asText())
                .isEqualTo("refused");
        execute("BEGIN; SELECT set_config('agentconfig.reseal', '" + guardedEnvelope + " v1:00000000:AAAA', true); "
                + "UPDATE public.user_profiles SET encrypted_retell_api_key = NULL WHERE user_id = '" + guarded + "'; COMMIT");
        execute("BEGIN; SELECT set_config('agentconfig.reseal', '" + guardedEnvelope + " not-an-envelope', true); "
                + "UPDATE public.user_profiles SET encrypted_retell_api_key = 'not-an-envelope' WHERE user_id = '" + guarded
                + "'; COMMIT");
        assertThat(keyRow("user_profiles", guarded).get("k")).isEqualTo(guardedEnvelope);
    }

    @Test
    void aLegacyPlaintextKeyIsSealedAndItsPlaintextRemovedWhateverElseTheRowHolds() {
        String tenant = newTenant();
        // (1) nothing versioned anywhere: sealed into both tables at version 1 (older than any save)
        UUID bare = newUser();
        String bareKey = newKey();
        plantLegacy(tenant, bare, bareKey);
        // (2) user_profiles holds a versioned key: user_settings takes that one, the plaintext goes
        UUID profiled = newUser();
        String profiledKey = newKey();
        long v = HybridLogicalClock.micros(Instant.now().minusSeconds(60));
        plantSealed(tenant, profiled, cipher().seal(profiledKey, aad(tenant, profiled)), v, true, false);
        plantLegacy(tenant, profiled, newKey());
        // (3) user_settings holds a versioned key and the plaintext (written directly): the plaintext goes
        UUID both = newUser();
        String bothKey = newKey();
        plantSealed(tenant, both, cipher().seal(bothKey, aad(tenant, both)), v, false, true);
        addPlaintext(both, newKey());
        assertThat(query("SELECT count(*) AS n FROM public.user_settings WHERE (retell_config -> 'api_key') IS NOT NULL AND user_id IN (?, ?, ?)",
                bare, profiled, both).get(0).get("n")).isEqualTo(3L);

        RotationStatus status = context.getRegistry().lookupByNameAndType("keyRotation", KeyRotation.class)
                .runToCompletion();
        assertThat(status.state()).as(status.toString()).isEqualTo(RotationStatus.FINISHED);
        assertThat(status.legacy()).isEqualTo(3);

        assertThat(query("SELECT count(*) AS n FROM public.user_settings WHERE (retell_config -> 'api_key') IS NOT NULL AND user_id IN (?, ?, ?)",
                bare, profiled, both).get(0).get("n")).isEqualTo(0L);
        for (String table : List.of("user_profiles", "user_settings")) {
            Map<String, Object> row = keyRow(table, bare);
            assertThat(row.get("version")).isEqualTo(1L);
            assertThat(cipher().open((String) row.get("k"), aad(tenant, bare)).equals(bareKey)).isTrue();
        }
        assertThat(keyRow("user_settings", profiled).get("version")).isEqualTo(v);
        assertThat(keyRow("user_settings", profiled).get("k")).isEqualTo(keyRow("user_profiles", profiled).get("k"));
        assertThat(cipher().open((String) keyRow("user_settings", both).get("k"), aad(tenant, both)).equals(bothKey)).isTrue();
        // the agent ids the legacy rows held are kept
        assertThat(query("SELECT retell_config ->> 'call_agent_id' AS c FROM public.user_settings WHERE user_id = ?", bare)
                .get(0).get("c")).isEqualTo("c_legacy");
        // any save of the key wins over the sealed legacy one
        String saved = newKey();
        assertThat(put(tenant, bare, "{\"retellApiKey\":\"" + saved + "\"}").statusCode()).isEqualTo(200);
        assertThat(cipher().open((String) keyRow("user_settings", bare).get("k"), aad(tenant, bare)).equals(saved)).isTrue();
    }

    @Test
    void aValueSealedWithAKeyNotInTheKeyringIsNamedUndecryptableAndBlocksNothingElse() {
        byte[] stranger = randomBytes(32);
        String strangerId = Keyring.keyIdOf(stranger);
        String tenant = newTenant();
        UUID user = newUser();
        long v = HybridLogicalClock.micros(Instant.now().minusSeconds(60));
        // written by someone else (another instance with another keyring), after this service started
        plantSealed(tenant, user, new FieldCipher(stranger).seal(newKey(), aad(tenant, user)), v, true, true);
        try {
            HttpResponse<String> read = get("/api/v1/agent-config/" + tenant + "/" + user);
            assertThat(read.statusCode()).isEqualTo(200);
            assertThat(json(read).get("retellApiKey").isNull()).isTrue();
            JsonNode diagnosis = json(get("/api/v1/agent-config/" + tenant + "/" + user + "/diagnostics"));
            String reason = diagnosis.get("locations").get("user_profiles").get("fields").get("retellApiKey").get("reason").asText();
            assertThat(reason).contains("sealed with another key (" + strangerId + ")").contains("not in this service's keyring");
            System.out.println("FIGURE missing key, read: " + reason);

            RotationStatus status = context.getRegistry().lookupByNameAndType("keyRotation", KeyRotation.class)
                    .runToCompletion();
            assertThat(status.state()).isEqualTo(RotationStatus.INCOMPLETE);
            assertThat(status.failed()).isEqualTo(2);
            assertThat(status.detail()).contains(strangerId);
            assertThat(logs.text()).contains("cannot be re-sealed: sealed with another key (" + strangerId + ")");
            JsonNode check = json(send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health"))))
                    .get("checks").get("keys");
            assertThat(check.get("status").asText()).isEqualTo("DOWN");
            assertThat(check.get("detail").asText()).contains("not in this keyring").contains(strangerId);
            // the values stay as they were: nothing is overwritten
            assertThat((String) keyRow("user_profiles", user).get("k")).startsWith("v1:" + strangerId + ":");
        } finally {
            cleanUp(user);
        }
    }

    // ----- planting what an old key sealed ------------------------------------------------------------

    private static String aad(String tenant, UUID user) {
        return Field.RETELL_API_KEY.associatedData(tenant, user);
    }

    /** The rows a save of the key (and an agent id) at {@code version} writes, sealed as given. */
    private void plantSealed(String tenant, UUID user, String envelope, long version, boolean profile, boolean settings) {
        planted.add(user);
        if (profile) {
            query("INSERT INTO public.user_profiles AS p (user_id, tenant_id, encrypted_retell_api_key, "
                    + "encrypted_agent_config, field_versions) VALUES (CAST(? AS uuid), ?, ?, '{\"call_agent_id\":\"c_1\"}', "
                    + "jsonb_build_object('retellApiKey', CAST(? AS bigint), 'callAgentId', CAST(? AS bigint))) "
                    + "ON CONFLICT (user_id) DO UPDATE SET encrypted_retell_api_key = EXCLUDED.encrypted_retell_api_key, "
                    + "field_versions = EXCLUDED.field_versions RETURNING p.user_id",
                    user.toString(), tenant, envelope, version, version);
        }
        if (settings) {
            query("SELECT public.update_user_api_keys(CAST(? AS uuid), ?, '{\"call_agent_id\":\"c_1\"}', "
                    + "jsonb_build_object('retell_api_key', CAST(? AS text)), "
                    + "jsonb_build_object('retellApiKey', CAST(? AS bigint), 'callAgentId', CAST(? AS bigint)))::text AS r",
                    user.toString(), tenant, envelope, version, version);
        }
    }

    /** A seed-shaped user_settings row: the plaintext key in retell_config, no version. */
    private void plantLegacy(String tenant, UUID user, String plaintext) {
        planted.add(user);
        query("INSERT INTO public.user_settings AS s (user_id, tenant_id, retell_config, field_versions) "
                + "VALUES (CAST(? AS uuid), ?, '{\"call_agent_id\":\"c_legacy\"}', '{}') "
                + "ON CONFLICT (user_id, tenant_id) DO NOTHING RETURNING s.user_id", user.toString(), tenant);
        addPlaintext(user, plaintext);
    }

    /** The plaintext key put into retell_config as the seed's direct writers did (the guard would keep it out). */
    private void addPlaintext(UUID user, String plaintext) {
        execute("ALTER TABLE public.user_settings DISABLE TRIGGER user_settings_guard");
        try {
            query("UPDATE public.user_settings SET retell_config = retell_config || jsonb_build_object('api_key', "
                    + "CAST(? AS text)) WHERE user_id = CAST(? AS uuid) RETURNING user_id", plaintext, user.toString());
        } finally {
            execute("ALTER TABLE public.user_settings ENABLE TRIGGER user_settings_guard");
        }
    }

    private JsonNode reseal(UUID user, String tenant, String oldEnvelope, String newEnvelope) {
        String items = "[{\"user_id\":\"" + user + "\",\"tenant_id\":\"" + tenant + "\",\"old\":\"" + oldEnvelope
                + "\",\"new\":\"" + newEnvelope + "\"}]";
        return Json.tree((String) query("SELECT public.reseal_retell_keys(CAST(? AS jsonb))::text AS r", items)
                .get(0).get("r"));
    }

    private Map<String, Object> keyRow(String table, UUID user) {
        String sql = table.equals("user_profiles")
                ? "SELECT encrypted_retell_api_key AS k, (field_versions ->> 'retellApiKey')::bigint AS version "
                + "FROM public.user_profiles WHERE user_id = ?"
                : "SELECT encrypted_api_keys ->> 'retell_api_key' AS k, (field_versions ->> 'retellApiKey')::bigint AS version "
                + "FROM public.user_settings WHERE user_id = ?";
        List<Map<String, Object>> rows = query(sql, user);
        return rows.isEmpty() ? null : rows.get(0);
    }

    private long countSealedWith(String keyId) {
        return (Long) query("SELECT (SELECT count(*) FROM public.user_profiles WHERE encrypted_retell_api_key LIKE ?) "
                + "+ (SELECT count(*) FROM public.user_settings WHERE encrypted_api_keys ->> 'retell_api_key' LIKE ?) AS n",
                "v1:" + keyId + ":%", "v1:" + keyId + ":%").get(0).get("n");
    }

    private void cleanUp(UUID... users) {
        for (UUID u : users) {
            execute("DELETE FROM public.user_profiles WHERE user_id = '" + u + "'");
            execute("DELETE FROM public.user_settings WHERE user_id = '" + u + "'");
        }
    }

    private String localStoreText() {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> files = Files.walk(dataDir.resolve("local-store"))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                sb.append(Files.readString(f)).append('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sb.toString();
    }

    private HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).header("Authorization", "Bearer " + serviceToken));
    }

    private HttpResponse<String> post(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).header("Authorization", "Bearer " + serviceToken)
                .POST(HttpRequest.BodyPublishers.noBody()));
    }

    static String messages(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c.getMessage()).append(" | ");
        }
        return sb.toString();
    }

    static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /**
     * Another instance of the service in this JVM: its own data dir and port, this class's embedded
     * PostgreSQL as its external database, and the keyring given.
     */
    final class OtherService implements AutoCloseable {
        private final Main main = new Main();
        private final int port = freePort();
        private final String token = "svc_other_" + UUID.randomUUID();

        OtherService(byte[] key, String extraKeys, String activeKey) throws Exception {
            Properties p = new Properties();
            p.setProperty("agentconfig.data-dir", Files.createTempDirectory("acs-other-").toString());
            p.setProperty("agentconfig.http.port", String.valueOf(port));
            p.setProperty("agentconfig.db.url", embedded().jdbcUrl());
            p.setProperty("agentconfig.db.user", embedded().user());
            p.setProperty("agentconfig.db.password", embedded().password());
            p.setProperty("agentconfig.encryption.key", Base64.getEncoder().encodeToString(key));
            if (extraKeys != null) {
                p.setProperty("agentconfig.encryption.keys", extraKeys);
            }
            if (activeKey != null) {
                p.setProperty("agentconfig.encryption.active-key", activeKey);
            }
            p.setProperty("agentconfig.auth.service-token", token);
            p.setProperty("agentconfig.sync.interval", "60m");
            p.setProperty("agentconfig.sync.initial-delay", "60m");
            main.configure().addConfiguration(AppConfiguration.class);
            main.setOverrideProperties(p);
            main.start();
        }

        HttpResponse<String> get(String tenant, UUID user) {
            return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/agent-config/" + tenant
                    + "/" + user)).header("Authorization", "Bearer " + token));
        }

        @Override
        public void close() {
            main.stop();
        }
    }
}
