package dev.agentconfig.save;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.json.Json;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.testing.ServiceTestSupport;
import dev.agentconfig.testing.SteppableClock;
import org.apache.camel.spi.Registry;
import org.apache.camel.support.DefaultRegistry;
import org.junit.jupiter.api.Test;

/**
 * Versions come from a hybrid logical clock: a wall clock that steps back (NTP), a restart with
 * the clock behind what the local store holds, or a replayed old save can never make the user's
 * newest value lose silently, and a save that changed nothing newer is never answered "saved".
 */
class ClockStepTest extends ServiceTestSupport {
    private final SteppableClock wall = new SteppableClock();
    /** A local entry written by this service's previous life, whose clock was 30 minutes ahead. */
    private final String parkedTenant = newTenant();
    private final UUID parkedUser = newUser();
    private final long parkedVersion = micros(Instant.now().plus(Duration.ofMinutes(30)));

    @Override
    protected Registry createCamelRegistry() {
        writeEntryOfAPreviousLife();
        Registry registry = new DefaultRegistry();
        registry.bind("wallClock", wall);
        return registry;
    }

    private void writeEntryOfAPreviousLife() {
        String now = Instant.now().toString();
        PendingEntry e = new PendingEntry(1, parkedTenant, parkedUser.toString(),
                Map.of("callAgentId", new PendingEntry.FieldEntry("before_restart", parkedVersion, UUID.randomUUID().toString())),
                List.of("user_profiles", "user_settings"), PendingEntry.QUARANTINED, null, 1, null, now, now, 1);
        try {
            Path dir = Files.createDirectories(dataDir.resolve("local-store").resolve(parkedTenant));
            Files.write(dir.resolve(parkedUser + ".json"), Json.writeBytes(e));
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000L;
    }

    private HttpResponse<String> putWithKey(String tenant, UUID user, String json, String key) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + serviceToken)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key)
                .PUT(HttpRequest.BodyPublishers.ofString(json)));
    }

    private JsonNode read(String tenant, UUID user) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + serviceToken).GET());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r);
    }

    private void bothTablesHold(UUID user, String callAgentId, long version) {
        for (Map<String, Object> row : List.of(profileRow(user).orElseThrow(), settingsRow(user).orElseThrow())) {
            String column = row.containsKey("encrypted_agent_config") ? "encrypted_agent_config" : "retell_config";
            assertThat(json((String) row.get(column)).get("call_agent_id").asText()).isEqualTo(callAgentId);
            assertThat(json((String) row.get("field_versions")).get("callAgentId").asLong()).isEqualTo(version);
        }
    }

    @Test
    void aWallClockSteppedBackAnHourDoesNotMakeTheNextSaveLose() {
        String tenant = newTenant();
        UUID user = newUser();
        HttpResponse<String> first = put(tenant, user, "{\"callAgentId\":\"before_step\"}");
        assertThat(json(first).get("status").asText()).as(first.body()).isEqualTo("saved");

        wall.step(Duration.ofHours(-1));
        try {
            HttpResponse<String> second = put(tenant, user, "{\"callAgentId\":\"after_step\"}");
            assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
            assertThat(json(second).get("status").asText()).isEqualTo("saved");
            long v2 = json(second).get("version").asLong();
            assertThat(v2).isGreaterThan(json(first).get("version").asLong());
            bothTablesHold(user, "after_step", v2);
            assertThat(read(tenant, user).get("callAgentId").asText()).isEqualTo("after_step");
        } finally {
            wall.step(Duration.ofHours(1));
        }
    }

    @Test
    void anIdempotentRetryOfASaveThatANewerOneSupersededAnswersStale() {
        String tenant = newTenant();
        UUID user = newUser();
        String body = "{\"callAgentId\":\"old_call\"}";
        HttpResponse<String> a = putWithKey(tenant, user, body, "retried-save");
        HttpResponse<String> b = put(tenant, user, "{\"callAgentId\":\"new_call\"}");
        assertThat(json(a).get("status").asText()).isEqualTo("saved");
        assertThat(json(b).get("status").asText()).isEqualTo("saved");

        HttpResponse<String> retry = putWithKey(tenant, user, body, "retried-save");

        assertThat(retry.statusCode()).as(retry.body()).isEqualTo(200);
        assertThat(json(retry).get("status").asText()).as(retry.body()).isEqualTo("stale");
        assertThat(json(retry).get("version").asLong()).isEqualTo(json(a).get("version").asLong());
        assertThat(json(retry).get("targets").get("user_profiles").asText()).isEqualTo("stale");
        assertThat(json(retry).get("targets").get("user_settings").asText()).isEqualTo("stale");
        bothTablesHold(user, "new_call", json(b).get("version").asLong());
        // the retry of the save that won is still "saved"
        HttpResponse<String> c = putWithKey(tenant, user, "{\"smsAgentId\":\"s1\"}", "winner");
        assertThat(json(putWithKey(tenant, user, "{\"smsAgentId\":\"s1\"}", "winner")).get("status").asText())
                .isEqualTo(json(c).get("status").asText()).isEqualTo("saved");
    }

    /**
     * A version from far beyond this instance's clock (a writer that got its units wrong) is not
     * adopted: the save answers "stale" and the clock, and every later version, stay sane.
     */
    @Test
    void aVersionFarInTheFutureIsReportedNotAdopted() {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(json(put(tenant, user, "{\"callAgentId\":\"c0\"}")).get("status").asText()).isEqualTo("saved");
        long farAhead = micros(Instant.now().plus(Duration.ofDays(3)));
        execute("UPDATE public.user_profiles SET field_versions = jsonb_build_object('callAgentId', " + farAhead
                + "::bigint) WHERE user_id = '" + user + "'");

        HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"c1\"}");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("status").asText()).isEqualTo("stale");
        assertThat(json(r).get("targets").get("user_profiles").asText()).isEqualTo("stale");
        long later = json(put(newTenant(), newUser(), "{\"callAgentId\":\"other\"}")).get("version").asLong();
        // (this class's clock follows the entry parked 30 minutes ahead at start, nothing further)
        assertThat(later).isLessThan(micros(Instant.now().plus(Duration.ofHours(1))));
    }

    /**
     * After a restart with the clock behind the versions this instance's local store holds, a save
     * parked for the same user must still be newer than what is parked: it is not merged away.
     */
    @Test
    void aSaveParkedAfterARestartWithTheClockBehindIsNotMergedAway() {
        execute("ALTER TABLE public.user_profiles RENAME TO user_profiles_away");
        HttpResponse<String> r;
        try {
            r = put(parkedTenant, parkedUser, "{\"callAgentId\":\"after_restart\"}");
        } finally {
            execute("ALTER TABLE public.user_profiles_away RENAME TO user_profiles");
        }
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        assertThat(json(r).get("version").asLong()).isGreaterThan(parkedVersion);
        JsonNode field = localEntry(parkedTenant, parkedUser).orElseThrow().get("fields").get("callAgentId");
        assertThat(field.get("value").asText()).isEqualTo("after_restart");
        assertThat(read(parkedTenant, parkedUser).get("callAgentId").asText()).isEqualTo("after_restart");
    }
}
