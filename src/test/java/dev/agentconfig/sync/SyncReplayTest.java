package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.builder.AdviceWith;
import org.junit.jupiter.api.BeforeEach;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.junit.jupiter.api.Test;

/**
 * The sync pass against the real embedded PostgreSQL, driven by POST /api/v1/sync (no scheduled
 * pass in this class): a queued save reaches both tables with its envelope and versions, only
 * pending targets are replayed, an older entry never overwrites a newer save, schema drift backs
 * off (persisted) and drains once the column is back, refused data is quarantined until an
 * operator retries it, and a save that lands during a replay is neither lost nor overwritten.
 */
class SyncReplayTest extends SyncTestSupport {
    /** Runs once, in route replay-batch just before step settle-replay takes the keys' locks (after the DB write). */
    private static final AtomicReference<Runnable> DURING_REPLAY = new AtomicReference<>();
    /** Runs once, in route replay-batch just after step load-replays read the entries (before the DB write). */
    private static final AtomicReference<Runnable> AFTER_LOAD = new AtomicReference<>();
    private boolean advised;

    @BeforeEach
    void healthy() throws Exception {
        if (!embedded().running()) {
            startDatabase();
        }
        resetBreakers();
        if (!advised) {
            AdviceWith.adviceWith(context, "replay-batch", a -> a.weaveById("settle-replay").before().process(ex -> {
                Runnable hook = DURING_REPLAY.getAndSet(null);
                if (hook != null) {
                    hook.run();
                }
            }));
            AdviceWith.adviceWith(context, "replay-batch", a -> a.weaveById("write-replays").before().process(ex -> {
                Runnable hook = AFTER_LOAD.getAndSet(null);
                if (hook != null) {
                    hook.run();
                }
            }));
            advised = true;
        }
    }

    @Test
    void aSaveQueuedDuringAnOutageReachesBothTablesWithItsEnvelopeAndVersions() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        JsonNode answer;
        String envelope;
        stopDatabase();
        try {
            answer = putQueued(tenant, user,
                    "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"c_q\",\"smsAgentId\":\"s_q\"}");
            envelope = localEntry(tenant, user).orElseThrow().get("fields").get("retellApiKey").get("value").asText();
            // the probe confirms the outage (at once, or on its next round if it asked just before): breakers open
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                    .until(() -> breaker("profileBreaker").getState() == CircuitBreaker.State.FORCED_OPEN);
        } finally {
            startDatabase();
        }
        long version = answer.get("version").asLong();

        // the database is back: the breaker probe sees it and a pass starts at once (drain on return),
        // whatever the interval (scheduled passes are off in this test)
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> localEntry(tenant, user).isEmpty());
        assertThat(logs.text()).contains("drained 1 entries in");
        JsonNode pass = sync();
        assertThat(pass.get("status").asText()).isEqualTo("completed");
        assertThat(pass.get("stillPending").asInt()).isZero();
        Map<String, Object> profile = profileRow(user).orElseThrow();
        assertThat(text(profile, "tenant_id")).isEqualTo(tenant);
        assertThat(text(profile, "encrypted_retell_api_key")).isEqualTo(envelope);
        assertThat(jsonOf(profile, "encrypted_agent_config").get("call_agent_id").asText()).isEqualTo("c_q");
        assertThat(jsonOf(profile, "encrypted_agent_config").get("sms_agent_id").asText()).isEqualTo("s_q");
        JsonNode pv = jsonOf(profile, "field_versions");
        assertThat(pv.get("retellApiKey").asLong()).isEqualTo(version);
        assertThat(pv.get("callAgentId").asLong()).isEqualTo(version);
        assertThat(pv.get("smsAgentId").asLong()).isEqualTo(version);
        Map<String, Object> settings = settingsRow(user).orElseThrow();
        assertThat(jsonOf(settings, "encrypted_api_keys").get("retell_api_key").asText()).isEqualTo(envelope);
        assertThat(jsonOf(settings, "retell_config").get("call_agent_id").asText()).isEqualTo("c_q");
        assertThat(jsonOf(settings, "retell_config").has("api_key")).isFalse();
        assertThat(jsonOf(settings, "field_versions")).isEqualTo(pv);
        assertThat(cipher().open(envelope, tenant + ":" + user + ":retellApiKey")).isEqualTo(key);
        await().atMost(Duration.ofSeconds(30)).until(() -> !query(
                "SELECT 1 FROM public.audit_log WHERE user_id = ? AND event = 'sync' AND success", user).isEmpty());
        assertThat(text(query("SELECT details::text AS d FROM public.audit_log WHERE user_id = ? AND event = 'sync'",
                user).get(0), "d")).contains("\"drained\"").doesNotContain(key);
        assertNotInDataDir(key);
        assertThat(logs.text()).doesNotContain(key);
    }

    @Test
    void anOlderQueuedValueNeverOverwritesANewerSaveThatLandedDirectly() {
        String tenant = newTenant();
        UUID user = newUser();
        AtomicReference<Long> v1 = new AtomicReference<>();
        withTablesAway(() -> v1.set(putQueued(tenant, user, "{\"callAgentId\":\"c_v1\"}").get("version").asLong()));
        HttpResponse<String> direct = put(tenant, user, "{\"callAgentId\":\"c_v2\"}");
        assertThat(direct.statusCode()).as(direct.body()).isEqualTo(200);
        long v2 = json(direct).get("version").asLong();
        assertThat(v2).isGreaterThan(v1.get());
        double staleBefore = replays("user_profiles", "stale") + replays("user_settings", "stale");

        JsonNode pass = sync();

        assertThat(pass.get("drained").asInt()).isEqualTo(1);
        Map<String, Object> profile = profileRow(user).orElseThrow();
        assertThat(jsonOf(profile, "encrypted_agent_config").get("call_agent_id").asText()).isEqualTo("c_v2");
        assertThat(jsonOf(profile, "field_versions").get("callAgentId").asLong()).isEqualTo(v2);
        Map<String, Object> settings = settingsRow(user).orElseThrow();
        assertThat(jsonOf(settings, "retell_config").get("call_agent_id").asText()).isEqualTo("c_v2");
        assertThat(jsonOf(settings, "field_versions").get("callAgentId").asLong()).isEqualTo(v2);
        assertThat(localEntry(tenant, user)).isEmpty();
        assertThat(replays("user_profiles", "stale") + replays("user_settings", "stale")).isEqualTo(staleBefore + 2);
    }

    @Test
    void schemaDriftKeepsOnlyThePendingTargetWithPersistedBackoffThenDrainsWhenTheColumnIsBack() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        withTablesAway(() -> putQueued(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"smsAgentId\":\"s_drift\"}"));
        execute("ALTER TABLE public.user_settings DROP COLUMN api_key_updated_at");
        Instant nextAttempt;
        try {
            Instant before = Instant.now();
            JsonNode pass = sync();

            assertThat(pass.get("partial").asInt()).as(pass.toString()).isEqualTo(1);
            assertThat(pass.get("stillPending").asInt()).isEqualTo(1);
            JsonNode entry = localEntry(tenant, user).orElseThrow();
            assertThat(entry.get("state").asText()).isEqualTo("pending");
            assertThat(entry.get("pendingTargets").toString()).isEqualTo("[\"user_settings\"]");
            assertThat(entry.get("attempts").asInt()).isEqualTo(2);
            assertThat(entry.get("lastError").get("failureClass").asText()).isEqualTo("schema_drift");
            assertThat(entry.get("lastError").get("code").asText()).isEqualTo("42703");
            assertThat(entry.get("lastError").get("target").asText()).isEqualTo("user_settings");
            // the missing object is named where the read's sync block and the diagnostics show it
            assertThat(entry.get("lastError").get("message").asText()).contains("api_key_updated_at");
            // backoff after attempt 2: between one and two times the base, persisted in the entry's file
            nextAttempt = Instant.parse(entry.get("nextAttemptAt").asText());
            assertThat(nextAttempt).isAfterOrEqualTo(before.plus(BACKOFF_BASE))
                    .isBeforeOrEqualTo(Instant.now().plus(BACKOFF_BASE.multipliedBy(2)));
            assertThat(profileRow(user)).isPresent();
            assertThat(jsonOf(profileRow(user).orElseThrow(), "encrypted_agent_config").get("sms_agent_id").asText())
                    .isEqualTo("s_drift");
            assertThat(settingsRow(user)).isEmpty();

            // not due yet: a pass right now leaves it alone (it ran before the next attempt: checked, not assumed)
            long revision = entry.get("revision").asLong();
            JsonNode early = sync();
            assertThat(Instant.now()).as("the early pass ran before the next attempt").isBefore(nextAttempt);
            assertThat(early.get("due").asInt()).isZero();
            assertThat(localEntry(tenant, user).orElseThrow().get("revision").asLong()).isEqualTo(revision);
        } finally {
            execute("ALTER TABLE public.user_settings ADD COLUMN IF NOT EXISTS api_key_updated_at timestamptz");
        }

        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> sync().get("drained").asInt() == 1);

        assertThat(Instant.now()).isAfterOrEqualTo(nextAttempt);
        assertThat(localEntry(tenant, user)).isEmpty();
        Map<String, Object> settings = settingsRow(user).orElseThrow();
        assertThat(jsonOf(settings, "retell_config").get("sms_agent_id").asText()).isEqualTo("s_drift");
        assertThat(jsonOf(settings, "encrypted_api_keys").get("retell_api_key").asText()).startsWith("v1:");
        assertThat(text(settings, "api_key_updated_at")).isNotNull();
        assertThat(logs.text()).doesNotContain(key);
    }

    @Test
    void refusedDataIsQuarantinedUntilAnOperatorRetriesIt() {
        String tenant = newTenant();
        UUID user = newUser();
        withTablesAway(() -> putQueued(tenant, user, "{\"callAgentId\":\"refused_value\"}"));
        double quarantinedBefore = gauge("agentconfig.sync.quarantined.entries");
        execute("ALTER TABLE public.user_profiles ADD CONSTRAINT sync_test_refuse CHECK "
                + "(encrypted_agent_config ->> 'call_agent_id' IS DISTINCT FROM 'refused_value')");
        try {
            JsonNode pass = sync();

            assertThat(pass.get("quarantined").asInt()).as(pass.toString()).isEqualTo(1);
            JsonNode entry = localEntry(tenant, user).orElseThrow();
            assertThat(entry.get("state").asText()).isEqualTo("quarantined");
            assertThat(entry.get("pendingTargets").toString()).isEqualTo("[\"user_profiles\"]");
            assertThat(entry.get("lastError").get("failureClass").asText()).isEqualTo("rejected");
            assertThat(entry.get("lastError").get("code").asText()).isEqualTo("23514");
            assertThat(entry.get("lastError").get("message").asText()).contains("sync_test_refuse");
            assertThat(entry.get("nextAttemptAt").isNull()).isTrue();
            assertThat(profileRow(user)).isEmpty();
            assertThat(jsonOf(settingsRow(user).orElseThrow(), "retell_config").get("call_agent_id").asText())
                    .isEqualTo("refused_value");
            assertThat(gauge("agentconfig.sync.quarantined.entries")).isEqualTo(quarantinedBefore + 1);

            // not retried until asked
            long revision = entry.get("revision").asLong();
            assertThat(sync().get("due").asInt()).isZero();
            assertThat(localEntry(tenant, user).orElseThrow().get("revision").asLong()).isEqualTo(revision);
        } finally {
            execute("ALTER TABLE public.user_profiles DROP CONSTRAINT sync_test_refuse");
        }

        HttpResponse<String> retried = retry(tenant, user);
        assertThat(retried.statusCode()).as(retried.body()).isEqualTo(202);
        assertThat(json(retried).get("state").asText()).isEqualTo("pending");
        assertThat(json(retried).get("lastError").get("code").asText()).isEqualTo("23514");
        assertThat(localEntry(tenant, user).orElseThrow().get("state").asText()).isEqualTo("pending");
        HttpResponse<String> twice = retry(tenant, user);
        assertThat(twice.statusCode()).as(twice.body()).isEqualTo(409);
        assertThat(twice.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(json(twice).get("type").asText()).endsWith("/not-quarantined");

        JsonNode pass = sync();

        assertThat(pass.get("drained").asInt()).isEqualTo(1);
        assertThat(jsonOf(profileRow(user).orElseThrow(), "encrypted_agent_config").get("call_agent_id").asText())
                .isEqualTo("refused_value");
        assertThat(localEntry(tenant, user)).isEmpty();
        assertThat(gauge("agentconfig.sync.quarantined.entries")).isEqualTo(quarantinedBefore);
        await().atMost(Duration.ofSeconds(30)).until(() -> query(
                "SELECT event FROM public.audit_log WHERE user_id = ? AND event LIKE 'sync%' ORDER BY id", user).size() == 3);
        assertThat(query("SELECT event, success FROM public.audit_log WHERE user_id = ? AND event LIKE 'sync%' ORDER BY id",
                user)).extracting(r -> r.get("event") + ":" + r.get("success"))
                .containsExactly("sync:false", "sync-retry:true", "sync:true");

        HttpResponse<String> none = retry(tenant, user);
        assertThat(none.statusCode()).as(none.body()).isEqualTo(404);
        assertThat(none.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    }

    @Test
    void aSaveQuarantinedByTheSavePathDrainsAfterTheConstraintIsDroppedAndRetryIsAsked() {
        String tenant = newTenant();
        UUID user = newUser();
        execute("ALTER TABLE public.user_settings ADD CONSTRAINT sync_test_refuse_sms CHECK "
                + "(retell_config ->> 'sms_agent_id' IS DISTINCT FROM 'refused_sms')");
        try {
            HttpResponse<String> r = put(tenant, user, "{\"smsAgentId\":\"refused_sms\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            assertThat(json(r).get("status").asText()).isEqualTo("quarantined");
            JsonNode entry = localEntry(tenant, user).orElseThrow();
            assertThat(entry.get("state").asText()).isEqualTo("quarantined");
            assertThat(entry.get("nextAttemptAt").isNull()).as("no attempt is planned").isTrue();
            assertThat(entry.get("lastError").get("message").asText()).contains("sync_test_refuse_sms");
            assertThat(sync().get("due").asInt()).isZero();
        } finally {
            execute("ALTER TABLE public.user_settings DROP CONSTRAINT sync_test_refuse_sms");
        }
        assertThat(retry(tenant, user).statusCode()).isEqualTo(202);

        JsonNode pass = sync();

        assertThat(pass.get("drained").asInt()).isEqualTo(1);
        assertThat(localEntry(tenant, user)).isEmpty();
        assertThat(jsonOf(settingsRow(user).orElseThrow(), "retell_config").get("sms_agent_id").asText())
                .isEqualTo("refused_sms");
    }

    @Test
    void aTenantConflictOnReplayIsQuarantinedAndWritesNothing() {
        String tenant = newTenant();
        UUID user = newUser();
        withTablesAway(() -> putQueued(tenant, user, "{\"callAgentId\":\"c_mine\"}"));
        // meanwhile another writer registered the user under another tenant
        execute("INSERT INTO public.user_profiles (user_id, tenant_id) VALUES ('" + user + "', 'other-tenant')");

        JsonNode pass = sync();

        assertThat(pass.get("quarantined").asInt()).isEqualTo(1);
        JsonNode entry = localEntry(tenant, user).orElseThrow();
        assertThat(entry.get("state").asText()).isEqualTo("quarantined");
        assertThat(entry.get("lastError").get("failureClass").asText()).isEqualTo("tenant_conflict");
        assertThat(entry.get("lastError").get("code").asText()).isEqualTo("AC409");
        assertThat(text(profileRow(user).orElseThrow(), "tenant_id")).isEqualTo("other-tenant");
        assertThat(jsonOf(profileRow(user).orElseThrow(), "encrypted_agent_config").has("call_agent_id")).isFalse();
        assertThat(settingsRow(user)).isEmpty();
    }

    @Test
    void aSaveMergedIntoTheEntryDuringItsReplayStaysPendingAndDrainsNext() {
        String tenant = newTenant();
        UUID user = newUser();
        withTablesAway(() -> putQueued(tenant, user, "{\"callAgentId\":\"c_old\"}"));
        AtomicReference<Long> newVersion = new AtomicReference<>();
        // after the replay wrote c_old, before it settles: a save whose user_settings write fails
        // (the function is renamed away) is merged into the same entry
        DURING_REPLAY.set(() -> {
            execute("ALTER FUNCTION public.update_user_api_keys(uuid, text, jsonb, jsonb, jsonb) RENAME TO update_user_api_keys_away");
            try {
                var ex = saveRoute(tenant, user, "{\"smsAgentId\":\"s_new\"}");
                @SuppressWarnings("unchecked")
                Map<String, Object> body = ex.getMessage().getBody(Map.class);
                assertThat(body.get("status")).isEqualTo("queued");
                newVersion.set(((Number) body.get("version")).longValue());
            } finally {
                execute("ALTER FUNCTION public.update_user_api_keys_away(uuid, text, jsonb, jsonb, jsonb) RENAME TO update_user_api_keys");
            }
        });

        JsonNode pass = sync();

        assertThat(DURING_REPLAY.get()).isNull();
        assertThat(pass.get("changedDuringReplay").asInt()).as(pass.toString()).isEqualTo(1);
        assertThat(pass.get("drained").asInt()).isZero();
        JsonNode entry = localEntry(tenant, user).orElseThrow();
        assertThat(entry.get("state").asText()).isEqualTo("pending");
        assertThat(entry.get("fields").get("smsAgentId").get("value").asText()).isEqualTo("s_new");
        assertThat(entry.get("fields").get("smsAgentId").get("version").asLong()).isEqualTo(newVersion.get());
        assertThat(entry.get("pendingTargets").toString()).contains("user_settings");
        assertThat(settingsRow(user)).isPresent(); // c_old reached it before the new save

        JsonNode next = sync();

        assertThat(next.get("drained").asInt()).isEqualTo(1);
        assertThat(localEntry(tenant, user)).isEmpty();
        for (Map<String, Object> row : new Map[] {profileRow(user).orElseThrow(), settingsRow(user).orElseThrow()}) {
            JsonNode config = jsonOf(row, row.containsKey("retell_config") ? "retell_config" : "encrypted_agent_config");
            assertThat(config.get("call_agent_id").asText()).isEqualTo("c_old");
            assertThat(config.get("sms_agent_id").asText()).isEqualTo("s_new");
            assertThat(jsonOf(row, "field_versions").get("smsAgentId").asLong()).isEqualTo(newVersion.get());
        }
    }

    /**
     * The entry is loaded (and kept parsed for its settle, store/LocalStore#load); before it is written, a newer save
     * of the same field is parked into it (both tables away): the settle must see the entry as it is on disk then,
     * not as it was loaded. The newer value stays pending and reaches both tables on the next pass; nothing is lost.
     */
    @Test
    void aSaveParkedBetweenTheLoadAndTheSettleIsKeptAndDrainsNext() {
        String tenant = newTenant();
        UUID user = newUser();
        withTablesAway(() -> putQueued(tenant, user, "{\"callAgentId\":\"c_old\",\"smsAgentId\":\"s_old\"}"));
        AtomicReference<Long> newVersion = new AtomicReference<>();
        AFTER_LOAD.set(() -> withTablesAway(() -> newVersion.set(
                putQueued(tenant, user, "{\"callAgentId\":\"c_new\"}").get("version").asLong())));

        JsonNode pass = sync();

        assertThat(AFTER_LOAD.get()).as("the save between load and settle happened").isNull();
        assertThat(pass.get("changedDuringReplay").asInt()).as(pass.toString()).isEqualTo(1);
        assertThat(pass.get("drained").asInt()).isZero();
        JsonNode entry = localEntry(tenant, user).orElseThrow();
        assertThat(entry.get("state").asText()).isEqualTo("pending");
        assertThat(entry.get("fields").get("callAgentId").get("value").asText()).isEqualTo("c_new");
        assertThat(entry.get("fields").get("callAgentId").get("version").asLong()).isEqualTo(newVersion.get());
        assertThat(entry.get("pendingTargets").toString()).contains("user_profiles").contains("user_settings");

        JsonNode next = sync();

        assertThat(next.get("drained").asInt()).isEqualTo(1);
        assertThat(localEntry(tenant, user)).isEmpty();
        for (Map<String, Object> row : new Map[] {profileRow(user).orElseThrow(), settingsRow(user).orElseThrow()}) {
            JsonNode config = jsonOf(row, row.containsKey("retell_config") ? "retell_config" : "encrypted_agent_config");
            assertThat(config.get("call_agent_id").asText()).isEqualTo("c_new");
            assertThat(config.get("sms_agent_id").asText()).isEqualTo("s_old");
            assertThat(jsonOf(row, "field_versions").get("callAgentId").asLong()).isEqualTo(newVersion.get());
        }
    }

    @Test
    void aSaveThatLandsDirectlyDuringTheReplayIsNotOverwritten() {
        String tenant = newTenant();
        UUID user = newUser();
        withTablesAway(() -> putQueued(tenant, user, "{\"callAgentId\":\"c_old\",\"smsAgentId\":\"s_old\"}"));
        AtomicReference<Long> newVersion = new AtomicReference<>();
        DURING_REPLAY.set(() -> {
            var ex = saveRoute(tenant, user, "{\"callAgentId\":\"c_new\"}");
            @SuppressWarnings("unchecked")
            Map<String, Object> body = ex.getMessage().getBody(Map.class);
            assertThat(body.get("status")).isEqualTo("saved");
            newVersion.set(((Number) body.get("version")).longValue());
        });

        JsonNode pass = sync();

        assertThat(DURING_REPLAY.get()).isNull();
        assertThat(pass.get("drained").asInt()).isEqualTo(1);
        assertThat(localEntry(tenant, user)).isEmpty();
        for (Map<String, Object> row : new Map[] {profileRow(user).orElseThrow(), settingsRow(user).orElseThrow()}) {
            JsonNode config = jsonOf(row, row.containsKey("retell_config") ? "retell_config" : "encrypted_agent_config");
            assertThat(config.get("call_agent_id").asText()).isEqualTo("c_new");
            assertThat(config.get("sms_agent_id").asText()).isEqualTo("s_old");
            assertThat(jsonOf(row, "field_versions").get("callAgentId").asLong()).isEqualTo(newVersion.get());
        }
    }

    @Test
    void theGaugesCountPendingAndTheOldestAge() {
        String tenant = newTenant();
        UUID a = newUser();
        UUID b = newUser();
        double pendingBefore = gauge("agentconfig.sync.pending.entries");
        withTablesAway(() -> {
            putQueued(tenant, a, "{\"callAgentId\":\"c_a\"}");
            putQueued(tenant, b, "{\"callAgentId\":\"c_b\"}");
        });
        assertThat(gauge("agentconfig.sync.pending.entries")).isEqualTo(pendingBefore + 2);
        await().atMost(Duration.ofSeconds(30)).until(() -> gauge("agentconfig.sync.oldest.pending.age") > 0.2);
        double savedBefore = replays("user_profiles", "saved");

        JsonNode pass = sync();

        assertThat(pass.get("drained").asInt()).isEqualTo(2);
        assertThat(gauge("agentconfig.sync.pending.entries")).isEqualTo(pendingBefore);
        assertThat(replays("user_profiles", "saved")).isEqualTo(savedBefore + 2);
        if (pendingBefore == 0) {
            assertThat(gauge("agentconfig.sync.oldest.pending.age")).isZero();
        }
    }

    @Override
    protected java.util.Properties extraProperties() {
        java.util.Properties p = new java.util.Properties();
        p.setProperty("agentconfig.auth.jwt-secret", JWT_SECRET);
        // a failed replay's entry is due again after 5-10 s (attempt 2): the "not due yet" pass below runs within
        // that window on a loaded runner too (with the default 1 s base it had one second)
        p.setProperty("agentconfig.sync.backoff-base", BACKOFF_BASE.toMillis() + "ms");
        return p;
    }

    private static final Duration BACKOFF_BASE = Duration.ofSeconds(5);
    private static final String JWT_SECRET = "sync-test-jwt-secret-0123456789abcdef0123456789";

    private static String userJwt(String tenant, UUID user) throws Exception {
        var claims = new com.nimbusds.jwt.JWTClaimsSet.Builder().subject(user.toString())
                .claim("role", "authenticated").audience("authenticated").claim("app_metadata", Map.of("tenant_id", tenant))
                .expirationTime(java.util.Date.from(Instant.now().plusSeconds(300))).build();
        var jwt = new com.nimbusds.jwt.SignedJWT(new com.nimbusds.jose.JWSHeader(com.nimbusds.jose.JWSAlgorithm.HS256), claims);
        jwt.sign(new com.nimbusds.jose.crypto.MACSigner(JWT_SECRET.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    @Test
    void aUsersOwnTokenCanNeitherRunAPassNorReleaseItsQuarantinedEntry() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        execute("ALTER TABLE public.user_profiles ADD CONSTRAINT sync_test_refuse_user CHECK "
                + "(encrypted_agent_config ->> 'call_agent_id' IS DISTINCT FROM 'refused_user')");
        try {
            assertThat(json(put(tenant, user, "{\"callAgentId\":\"refused_user\"}")).get("status").asText())
                    .isEqualTo("quarantined");
        } finally {
            execute("ALTER TABLE public.user_profiles DROP CONSTRAINT sync_test_refuse_user");
        }
        String token = userJwt(tenant, user);
        // the token itself is valid for this user's configuration
        HttpResponse<String> ownSave = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/"
                        + tenant + "/" + user))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"smsAgentId\":\"s_own\"}")));
        assertThat(ownSave.statusCode()).as(ownSave.body()).isIn(200, 202);

        HttpResponse<String> retried = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/"
                        + tenant + "/" + user + "/retry"))
                .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.noBody()));
        HttpResponse<String> pass = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/sync"))
                .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(retried.statusCode()).as(retried.body()).isEqualTo(403);
        assertThat(retried.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(pass.statusCode()).as(pass.body()).isEqualTo(403);
        assertThat(localEntry(tenant, user).orElseThrow().get("state").asText()).isEqualTo("quarantined");
        assertThat(retry(tenant, user).statusCode()).isEqualTo(202); // the operator can
        assertThat(sync().get("drained").asInt()).isEqualTo(1);
    }

    @Test
    void theEndpointsNeedTheServiceTokenAndValidIds() {
        HttpResponse<String> anonymous = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/sync"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        HttpResponse<String> wrong = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/acme/"
                        + newUser() + "/retry"))
                .header("Authorization", "Bearer nope")
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(wrong.statusCode()).isEqualTo(401);
        HttpResponse<String> badUser = retry("acme", "not-a-uuid");
        assertThat(badUser.statusCode()).isEqualTo(400);
        assertThat(badUser.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        HttpResponse<String> badTenant = retry("-bad", newUser());
        assertThat(badTenant.statusCode()).isEqualTo(400);
    }
}
