package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.json.Json;
import dev.agentconfig.testing.ServiceProcess;
import org.junit.jupiter.api.Test;

/**
 * The packaged service dies (Runtime.halt, as under SIGKILL: no shutdown hook, no finally) between
 * a replay's database write and the removal of its local entry. After a restart, the start-up
 * pass finds the entry, replays it as a no-op for the database (rows untouched: same values,
 * same field_versions, same updated_at) and removes it.
 *
 * <p>The crash is placed exactly with the fault-injection property
 * {@code agentconfig.sync.fault.halt-after-db-write=true} (default false; tests only), which halts
 * the JVM in route replay-batch after the batch's database write and before its step settle-replay.
 */
class SyncCrashIT {

    @Test
    void aReplayKilledAfterTheDatabaseWriteIsHarmlessAfterTheRestart() throws Exception {
        Path root = Files.createTempDirectory("acs-crash-");
        Path data = root.resolve("data");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String tenant = "crash";
        UUID user = UUID.randomUUID();
        Path entryFile = data.resolve("local-store").resolve(tenant).resolve(user + ".json");
        List<String> noScheduledPass = List.of("-Dagentconfig.sync.interval=60m", "-Dagentconfig.sync.initial-delay=60m");

        // 1. a save parked in the local store, pending for both tables (user_profiles renamed away)
        ServiceProcess first = new ServiceProcess(data, port, Map.of(), noScheduledPass).start().awaitReady();
        try {
            String token = Files.readString(data.resolve("secrets/service-token")).trim();
            try (Connection c = first.connectDatabase(); Statement st = c.createStatement()) {
                st.execute("ALTER TABLE public.user_profiles RENAME TO user_profiles_away");
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                                first.baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                        .header("Authorization", "Bearer " + token)
                        .header("Content-Type", "application/json")
                        .PUT(HttpRequest.BodyPublishers.ofString(
                                "{\"retellApiKey\":\"key_TESTSECRET_crash0123456789\",\"callAgentId\":\"c_crash\",\"smsAgentId\":\"s_crash\"}"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
                st.execute("ALTER TABLE public.user_profiles_away RENAME TO user_profiles");
            }
            assertThat(first.stop()).as(first.output()).isIn(0, 143);
        } finally {
            first.close();
        }
        JsonNode parked = Json.tree(Files.readString(entryFile));
        assertThat(parked.get("pendingTargets").toString()).contains("user_profiles", "user_settings");

        // 2. the start-up pass replays it and the JVM halts right after the database write
        ServiceProcess crashing = new ServiceProcess(data, port, Map.of(),
                List.of("-Dagentconfig.sync.fault.halt-after-db-write=true", "-Dagentconfig.sync.initial-delay=500ms",
                        "-Dagentconfig.sync.interval=60m")).start();
        assertThat(crashing.process().waitFor(90, TimeUnit.SECONDS)).as("the service halts").isTrue();
        assertThat(crashing.process().exitValue()).isEqualTo(137);
        assertThat(crashing.output()).contains("FAULT INJECTION (agentconfig.sync.fault.halt-after-db-write): halting",
                tenant + "/" + user).doesNotContain("Sync pass: started");
        JsonNode leftBehind = Json.tree(Files.readString(entryFile));
        assertThat(leftBehind).as("the entry was not settled").isEqualTo(parked);
        Instant restartAt = Instant.now();

        // 3. restart (its embedded PostgreSQL left running by the halt is stopped and restarted):
        //    the start-up pass finds the entry again, the database is not changed, the entry goes
        ServiceProcess again = new ServiceProcess(data, port, Map.of(), List.of("-Dagentconfig.sync.initial-delay=500ms"))
                .start().awaitReady();
        try {
            // the file goes first, the pass's summary line follows
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> !Files.exists(entryFile) && again.output().contains("Sync pass: started"));
            assertThat(again.output()).contains("1 due, 1 replayed: 1 drained");
            try (Connection c = again.connectDatabase()) {
                for (String table : List.of("user_profiles", "user_settings")) {
                    Map<String, Object> row = row(c, table, user);
                    JsonNode versions = Json.tree((String) row.get("field_versions"));
                    for (String field : List.of("retellApiKey", "callAgentId", "smsAgentId")) {
                        assertThat(versions.get(field).asLong()).as(table + " " + field)
                                .isEqualTo(parked.get("fields").get(field).get("version").asLong());
                    }
                    // written by the halted process, not touched by the replay after the restart
                    assertThat(((Timestamp) row.get("updated_at")).toInstant()).as(table + ".updated_at")
                            .isBefore(restartAt);
                    assertThat((String) row.get("config")).contains("c_crash", "s_crash");
                    assertThat((String) row.get("k")).isEqualTo(parked.get("fields").get("retellApiKey").get("value").asText());
                }
            }
            assertThat(again.stop()).isIn(0, 143);
        } finally {
            again.close();
        }
        // every process's log: the one that took the save and parked it, the one that halted mid-replay, the restart
        assertThat(first.output()).as("the saving process's log").isNotEmpty().doesNotContain("key_TESTSECRET_");
        assertThat(crashing.output()).as("the halted process's log").doesNotContain("key_TESTSECRET_");
        assertThat(again.output()).as("the restarted process's log").doesNotContain("key_TESTSECRET_");
    }

    private static Map<String, Object> row(Connection c, String table, UUID user) throws Exception {
        String sql = table.equals("user_profiles")
                ? "SELECT field_versions::text, updated_at, encrypted_agent_config::text AS config, "
                + "encrypted_retell_api_key AS k FROM public.user_profiles WHERE user_id = '" + user + "'"
                : "SELECT field_versions::text, updated_at, retell_config::text AS config, "
                + "encrypted_api_keys->>'retell_api_key' AS k FROM public.user_settings WHERE user_id = '" + user + "'";
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            assertThat(rs.next()).as(table + " row").isTrue();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("field_versions", rs.getString(1));
            m.put("updated_at", rs.getTimestamp(2));
            m.put("config", rs.getString(3));
            m.put("k", rs.getString(4));
            return m;
        }
    }
}
