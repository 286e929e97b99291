package dev.agentconfig.save;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.AppConfiguration;
import dev.agentconfig.json.Json;
import dev.agentconfig.testing.ServiceTestSupport;
import dev.agentconfig.testing.SteppableClock;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A retried save never rewrites history: Idempotency-Keys outlive the service (the service is restarted between
 * the saves and the retry), no other user's keys push a user's key out, a parked save's key is known while it
 * waits, a retry parked while the database could not be asked is not replayed over a newer value, and a retry
 * whose key has expired but that carries its editedAt answers stale.
 *
 * <p>"The service" here is a whole instance in this JVM (its own Camel Main, data directory and HTTP port) whose
 * database is this class's embedded PostgreSQL; a restart stops it and starts a new one on the same data
 * directory, so nothing of the first one's memory survives.
 */
class DurableIdempotencyTest extends ServiceTestSupport {
    private static final int PER_USER = 3;

    private final Path serviceDir = tempDir();
    private final String token = "svc_idem_" + UUID.randomUUID();
    private final SteppableClock wall = new SteppableClock();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Main service;
    private int port;

    @AfterEach
    void stopService() {
        if (service != null) {
            service.stop();
            service = null;
        }
        resetBreakers();
    }

    @Test
    void aRetryAfterARestartGetsTheFirstAnswerAndKeepsTheNewerValue() {
        String tenant = newTenant();
        UUID user = newUser();
        start();
        HttpResponse<String> x = put(tenant, user, "{\"callAgentId\":\"call_x\"}", "k1", null);
        assertThat(x.statusCode()).as(x.body()).isEqualTo(200);
        HttpResponse<String> y = put(tenant, user, "{\"callAgentId\":\"call_y\"}", null, null);
        assertThat(json(y).get("status").asText()).as(y.body()).isEqualTo("saved");

        restart();
        HttpResponse<String> retry = put(tenant, user, "{\"callAgentId\":\"call_x\"}", "k1", null);

        assertThat(retry.statusCode()).as(retry.body()).isEqualTo(200);
        assertThat(json(retry).get("saveId").asText()).isEqualTo(json(x).get("saveId").asText());
        assertThat(json(retry).get("version").asLong()).isEqualTo(json(x).get("version").asLong());
        bothTablesHold(user, "call_y", json(y).get("version").asLong());
        assertThat(read(tenant, user).get("callAgentId").asText()).isEqualTo("call_y");
        // the database remembers the key, as a fingerprint of the content (never the content)
        Map<String, Object> row = keyRows(user).get(0);
        assertThat(row).containsEntry("idempotency_key", "k1").containsEntry("save_id",
                UUID.fromString(json(x).get("saveId").asText()));
        assertThat((String) row.get("fingerprint")).matches("[0-9a-f]{8}:[A-Za-z0-9_-]{43}").doesNotContain("call_x");

        // the same key for other content stays refused after the restart
        HttpResponse<String> other = put(tenant, user, "{\"callAgentId\":\"call_z\"}", "k1", null);
        assertThat(other.statusCode()).as(other.body()).isEqualTo(409);
        assertThat(json(other).get("type").asText()).endsWith("idempotency-key-reused");
        bothTablesHold(user, "call_y", json(y).get("version").asLong());
    }

    @Test
    void anotherUsersFloodOfKeysDoesNotPushAKeyOut() {
        String tenant = newTenant();
        UUID b = newUser();
        UUID a = newUser();
        start();
        HttpResponse<String> x = put(tenant, b, "{\"smsAgentId\":\"sms_x\"}", "b-k1", null);
        HttpResponse<String> y = put(tenant, b, "{\"smsAgentId\":\"sms_y\"}", null, null);
        assertThat(json(y).get("status").asText()).as(y.body()).isEqualTo("saved");
        for (int i = 0; i < 4 * PER_USER; i++) {
            HttpResponse<String> flood = put(tenant, a, "{\"smsAgentId\":\"sms_a" + i + "\"}", "a-" + i, null);
            assertThat(flood.statusCode()).as(flood.body()).isEqualTo(200);
        }
        // the bound is per user: A keeps its newest PER_USER keys, B its one
        assertThat(keyRows(a)).extracting(r -> r.get("idempotency_key"))
                .containsExactlyInAnyOrder("a-" + (4 * PER_USER - 1), "a-" + (4 * PER_USER - 2), "a-" + (4 * PER_USER - 3));
        assertThat(keyRows(b)).extracting(r -> r.get("idempotency_key")).containsExactly("b-k1");

        restart();
        HttpResponse<String> retry = put(tenant, b, "{\"smsAgentId\":\"sms_x\"}", "b-k1", null);

        assertThat(retry.statusCode()).as(retry.body()).isEqualTo(200);
        assertThat(json(retry).get("saveId").asText()).isEqualTo(json(x).get("saveId").asText());
        assertThat(json(retry).get("version").asLong()).isEqualTo(json(x).get("version").asLong());
        assertThat(read(tenant, b).get("smsAgentId").asText()).isEqualTo("sms_y");
    }

    @Test
    void aRetryOfAParkedSaveDuringTheOutageIsTheSameSave() {
        String tenant = newTenant();
        UUID user = newUser();
        start();
        HttpResponse<String> y0 = put(tenant, user, "{\"callAgentId\":\"call_before\"}", null, null);
        assertThat(json(y0).get("status").asText()).as(y0.body()).isEqualTo("saved");
        HttpResponse<String> x;
        stopDatabase();
        try {
            x = put(tenant, user, "{\"callAgentId\":\"call_parked\"}", "k-parked", null);
            assertThat(x.statusCode()).as("the database is away: parked, " + x.body()).isEqualTo(202);
            JsonNode entry = serviceEntry(tenant, user).orElseThrow();
            assertThat(entry.get("idempotencyKeys").get("k-parked").get("saveId").asText())
                    .isEqualTo(json(x).get("saveId").asText());

            restart();
            HttpResponse<String> retry = put(tenant, user, "{\"callAgentId\":\"call_parked\"}", "k-parked", null);

            assertThat(retry.statusCode()).as(retry.body()).isEqualTo(202);
            assertThat(json(retry).get("saveId").asText()).isEqualTo(json(x).get("saveId").asText());
            assertThat(json(retry).get("version").asLong()).isEqualTo(json(x).get("version").asLong());
            assertThat(serviceEntry(tenant, user).orElseThrow().get("fields").get("callAgentId").get("version").asLong())
                    .isEqualTo(json(x).get("version").asLong());
        } finally {
            startDatabase();
        }
        // a pass drains it once the service's pool reaches the database again
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            sync();
            return serviceEntry(tenant, user).isEmpty();
        });
        bothTablesHold(user, "call_parked", json(x).get("version").asLong());
        // the drain recorded the parked save's key in the database
        assertThat(keyRows(user)).extracting(r -> r.get("idempotency_key")).containsExactly("k-parked");
    }

    @Test
    void aRetryParkedWhileTheDatabaseCouldNotBeAskedIsNotReplayedOverANewerValue() {
        String tenant = newTenant();
        UUID user = newUser();
        start();
        HttpResponse<String> x = put(tenant, user, "{\"callAgentId\":\"call_x\"}", "k1", null);
        HttpResponse<String> y = put(tenant, user, "{\"callAgentId\":\"call_y\"}", null, null);
        assertThat(json(y).get("status").asText()).as(y.body()).isEqualTo("saved");
        restart();
        stopDatabase();
        try {
            HttpResponse<String> retry = put(tenant, user, "{\"callAgentId\":\"call_x\"}", "k1", null);
            // neither the memory of this instance nor the local store knows k1, and the database cannot be asked
            assertThat(retry.statusCode()).as(retry.body()).isEqualTo(202);
            assertThat(json(retry).get("saveId").asText()).as("not recognised now").isNotEqualTo(json(x).get("saveId").asText());
            assertThat(serviceEntry(tenant, user).orElseThrow().get("fields").get("callAgentId").get("value").asText())
                    .isEqualTo("call_x");
        } finally {
            startDatabase();
        }

        await().atMost(Duration.ofSeconds(30)).until(() -> {
            sync();
            return serviceEntry(tenant, user).isEmpty();
        });
        bothTablesHold(user, "call_y", json(y).get("version").asLong());
        assertThat(read(tenant, user).get("callAgentId").asText()).isEqualTo("call_y");
        // and the retry now gets the first answer
        HttpResponse<String> again = put(tenant, user, "{\"callAgentId\":\"call_x\"}", "k1", null);
        assertThat(json(again).get("saveId").asText()).as(again.body()).isEqualTo(json(x).get("saveId").asText());
        bothTablesHold(user, "call_y", json(y).get("version").asLong());
    }

    @Test
    void aRetryWhoseKeyExpiredAnswersStaleWhenItCarriesItsEditedAt() {
        String tenant = newTenant();
        UUID user = newUser();
        start();
        Instant editedAt = wall.instant().minusSeconds(5);
        HttpResponse<String> x = put(tenant, user, "{\"callAgentId\":\"call_x\"}", "k-old", editedAt);
        assertThat(json(x).get("status").asText()).as(x.body()).isEqualTo("saved");
        HttpResponse<String> y = put(tenant, user, "{\"callAgentId\":\"call_y\"}", null, null);
        assertThat(json(y).get("status").asText()).as(y.body()).isEqualTo("saved");

        wall.step(Duration.ofHours(25)); // past agentconfig.save.idempotency-ttl (24 h)
        HttpResponse<String> retry;
        try {
            restart();
            retry = put(tenant, user, "{\"callAgentId\":\"call_x\"}", "k-old", editedAt);
        } finally {
            wall.step(Duration.ofHours(-25));
        }

        // the key is forgotten (a new saveId), but the version comes from the edit's moment: older than Y's
        assertThat(retry.statusCode()).as(retry.body()).isEqualTo(200);
        assertThat(json(retry).get("saveId").asText()).isNotEqualTo(json(x).get("saveId").asText());
        assertThat(json(retry).get("status").asText()).isEqualTo("stale");
        assertThat(json(retry).get("version").asLong()).isEqualTo(json(x).get("version").asLong());
        bothTablesHold(user, "call_y", json(y).get("version").asLong());
        assertThat(read(tenant, user).get("callAgentId").asText()).isEqualTo("call_y");
    }

    // ----- the service instance -------------------------------------------------------------------

    private void start() {
        port = freePort();
        Properties p = new Properties();
        p.setProperty("agentconfig.data-dir", serviceDir.toString());
        p.setProperty("agentconfig.http.port", String.valueOf(port));
        p.setProperty("agentconfig.db.url", embedded().jdbcUrl());
        p.setProperty("agentconfig.db.user", embedded().user());
        p.setProperty("agentconfig.db.password", embedded().password());
        p.setProperty("agentconfig.encryption.key", Base64.getEncoder().encodeToString(encryptionKey));
        p.setProperty("agentconfig.auth.service-token", token);
        p.setProperty("agentconfig.db.connect-timeout", "400ms");
        p.setProperty("agentconfig.db.statement-timeout", "1500ms");
        p.setProperty("agentconfig.breaker.probe-interval", "200ms");
        p.setProperty("agentconfig.sync.interval", "60m");
        p.setProperty("agentconfig.sync.initial-delay", "60m");
        p.setProperty("agentconfig.save.idempotency-per-user", String.valueOf(PER_USER));
        service = new Main();
        service.bind("wallClock", wall);
        service.configure().addConfiguration(AppConfiguration.class);
        service.setOverrideProperties(p);
        try {
            service.start();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The service stops and a new one starts on the same data directory: nothing in memory survives. */
    private void restart() {
        service.stop();
        service = null;
        start();
    }

    private HttpResponse<String> put(String tenant, UUID user, String body, String key, Instant editedAt) {
        String json = editedAt == null ? body
                : body.substring(0, body.length() - 1) + ",\"editedAt\":\"" + editedAt + "\"}";
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json));
        if (key != null) {
            b.header("Idempotency-Key", key);
        }
        return call(b);
    }

    private JsonNode read(String tenant, UUID user) {
        HttpResponse<String> r = call(HttpRequest.newBuilder(URI.create(base() + "/api/v1/agent-config/" + tenant + "/" + user)).GET());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r);
    }

    private JsonNode sync() {
        HttpResponse<String> r = call(HttpRequest.newBuilder(URI.create(base() + "/api/v1/sync"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return json(r);
    }

    private Optional<JsonNode> serviceEntry(String tenant, UUID user) {
        Path f = serviceDir.resolve("local-store").resolve(tenant).resolve(user + ".json");
        try {
            return Files.exists(f) ? Optional.of(Json.tree(Files.readString(f))) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String base() {
        return "http://127.0.0.1:" + port;
    }

    private HttpResponse<String> call(HttpRequest.Builder b) {
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

    private List<Map<String, Object>> keyRows(UUID user) {
        return query("SELECT idempotency_key, fingerprint, save_id, version FROM public.save_idempotency_keys "
                + "WHERE user_id = ? ORDER BY created_at", user);
    }

    private void bothTablesHold(UUID user, String callAgentId, long version) {
        for (Map<String, Object> row : List.of(profileRow(user).orElseThrow(), settingsRow(user).orElseThrow())) {
            String column = row.containsKey("encrypted_agent_config") ? "encrypted_agent_config" : "retell_config";
            JsonNode config = json((String) row.get(column));
            assertThat(config.get("call_agent_id").asText()).as(column).isEqualTo(callAgentId);
            assertThat(json((String) row.get("field_versions")).get("callAgentId").asLong()).as(column).isEqualTo(version);
        }
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("acs-idem-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
