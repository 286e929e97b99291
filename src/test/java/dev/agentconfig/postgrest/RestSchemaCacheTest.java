package dev.agentconfig.postgrest;

import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import dev.agentconfig.db.EmbeddedDatabase;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * The seed's second failure, healed: PostgREST answers PGRST204 (its schema cache does not know a
 * column). With a direct database URL configured the route sends NOTIFY pgrst, 'reload schema'
 * over it, observed here on a real PostgreSQL by a LISTEN on a separate connection, waits, and
 * retries once; PostgREST (the stub's scenario) has reloaded and the save answers 200. When the
 * reload does not help, the save is queued as schema drift, health and diagnostics name the
 * column, and the sync delivers it once PostgREST knows the column.
 */
class RestSchemaCacheTest extends RestTransportTestSupport {
    private static final String SCHEMA_CACHE_MISS =
            "Could not find the 'api_key_updated_at' column of 'user_settings' in the schema cache";

    // assigned in restProperties (superclass constructor): no initializer
    private EmbeddedDatabase direct;
    private Connection listener;

    @Override
    protected Properties restProperties() {
        try {
            Path directData = Files.createTempDirectory("acs-pgrst-direct-");
            direct = new EmbeddedDatabase(directData.resolve("pg"), directData.resolve("secrets"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        direct.start();
        // the operator already ran the migration files in the Supabase SQL editor, as the README says;
        // the service, given the direct URL later, must accept that schema and migrate on top of it
        runMigrationFilesAsTheSqlEditorWould();
        Properties p = new Properties();
        p.setProperty("agentconfig.db.url", direct.jdbcUrl());
        p.setProperty("agentconfig.db.user", direct.user());
        p.setProperty("agentconfig.db.password", direct.password());
        p.setProperty("agentconfig.supabase.schema-reload-wait", "300");
        return p;
    }

    private void runMigrationFilesAsTheSqlEditorWould() {
        try (Connection c = DriverManager.getConnection(direct.jdbcUrl(), direct.user(), direct.password());
             Statement st = c.createStatement()) {
            for (String file : List.of("V1__agent_config_schema.sql", "V2__field_guards_and_settings_rpc.sql")) {
                try (var in = getClass().getResourceAsStream("/db/migration/" + file)) {
                    st.execute(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
                }
            }
        } catch (SQLException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeEach
    void listen() throws SQLException {
        listener = DriverManager.getConnection(direct.jdbcUrl(), direct.user(), direct.password());
        try (Statement st = listener.createStatement()) {
            st.execute("LISTEN pgrst");
        }
    }

    @AfterEach
    void unlisten() throws SQLException {
        if (listener != null) {
            listener.close();
        }
    }

    @AfterAll
    void stopDirectDatabase() {
        try {
            if (context != null) {
                context.stop();
            }
        } finally {
            direct.stop();
        }
    }

    /**
     * Issue 21: docs/operations.md says a health failure is logged once per change. Before: "Health: the direct
     * database is unreachable" on every probe of the outage (4 probes, 4 WARN lines).
     */
    @Test
    void theDirectDatabaseStoppedIsLoggedOnceHoweverManyProbesAsk() throws Exception {
        String down = "Health: the direct database is unreachable";
        int mark = logs.lines().size();
        direct.stop();
        try {
            for (int i = 0; i < 4; i++) {
                JsonNode check = json(checked(serviceGet("/observe/health"))).get("checks").get("directDatabase");
                assertThat(check.get("status").asText()).as(check.toString()).isEqualTo("DOWN");
            }
        } finally {
            direct.start();
        }
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() ->
                json(checked(serviceGet("/observe/health"))).get("checks").get("directDatabase").get("status").asText()
                        .equals("UP"));
        List<String> lines = logs.lines().subList(mark, logs.lines().size());
        assertThat(lines.stream().filter(l -> l.contains(down)).count()).as(String.join("\n", lines)).isEqualTo(1);
        assertThat(lines.stream().filter(l -> l.contains("Health: the direct database answers again")).count())
                .isEqualTo(1);
    }

    @Test
    void aSchemaCacheMissIsHealedByNotifyPgrstAndOneRetry() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        stubUpsert(upserted("{}"));
        // PostgREST's cache lacks the column until it is told to reload; afterwards the call succeeds
        stub.stubFor(post(urlPathEqualTo(RPC)).inScenario("schema cache").whenScenarioStateIs(STARTED)
                .willReturn(postgrestError(400, "PGRST204", null, null, SCHEMA_CACHE_MISS))
                .willSetStateTo("reloaded"));
        stub.stubFor(post(urlPathEqualTo(RPC)).inScenario("schema cache").whenScenarioStateIs("reloaded")
                .willReturn(rpcDone("{}")));

        HttpResponse<String> r = checked(put(tenant, user, "{\"callAgentId\":\"c_heal\",\"smsAgentId\":\"s_heal\"}"));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("status").asText()).isEqualTo("saved");
        assertThat(json(r).get("targets").get("user_settings").asText()).isEqualTo("saved");
        // the NOTIFY reached the real database, on the channel PostgREST listens on
        PGNotification[] notes = listener.unwrap(PGConnection.class).getNotifications(5_000);
        assertThat(notes).isNotNull().hasSize(1);
        assertThat(notes[0].getName()).isEqualTo("pgrst");
        assertThat(notes[0].getParameter()).isEqualTo("reload schema");
        // the same request twice: the miss, then the retry after the reload
        List<LoggedRequest> rpcs = sent(postRequestedFor(urlPathEqualTo(RPC)));
        assertThat(rpcs).hasSize(2);
        assertThat(body(rpcs.get(1))).isEqualTo(body(rpcs.get(0)));
        assertThat(body(rpcs.get(1)).get("p_field_versions").get("smsAgentId").asLong())
                .isEqualTo(json(r).get("version").asLong());
        rpcs.forEach(this::assertWriteHeaders);
        System.out.println("FIGURE schema-cache heal: retry sent "
                + (rpcs.get(1).getLoggedDate().getTime() - rpcs.get(0).getLoggedDate().getTime())
                + " ms after the PGRST204 (agentconfig.supabase.schema-reload-wait=300)");
        assertThat(localEntry(tenant, user)).isEmpty();
        assertThat(reloads("sent")).isEqualTo(1);
        assertThat(logs.text()).contains("NOTIFY pgrst, 'reload schema'");
    }

    @Test
    void whenTheReloadDoesNotHelpTheSaveIsQueuedTheColumnNamedAndTheSyncDeliversItLater() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        double before = reloads("sent");
        stubUpsert(upserted("{}"));
        stubRpc(postgrestError(400, "PGRST204", null, null, SCHEMA_CACHE_MISS));

        HttpResponse<String> r = checked(put(tenant, user, "{\"callAgentId\":\"c_later\"}"));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        assertThat(json(r).get("targets").get("user_settings").asText()).isEqualTo("queued");
        assertThat(json(r).get("error").get("class").asText()).isEqualTo("schema_drift");
        assertThat(json(r).get("error").get("code").asText()).isEqualTo("PGRST204");
        assertThat(listener.unwrap(PGConnection.class).getNotifications(5_000)).hasSize(1);
        assertThat(reloads("sent")).isEqualTo(before + 1);
        assertThat(sent(postRequestedFor(urlPathEqualTo(RPC))))
                .filteredOn(req -> req.getBodyAsString().contains(user.toString()))
                .as("the miss and one retry, no more").hasSize(2);
        JsonNode entry = localEntry(tenant, user).orElseThrow();
        assertThat(entry.get("pendingTargets").toString()).isEqualTo("[\"user_settings\"]");
        assertThat(entry.get("lastError").get("message").asText()).isEqualTo(SCHEMA_CACHE_MISS);

        // health and diagnostics name the missing column
        HttpResponse<String> health = checked(serviceGet("/observe/health"));
        assertThat(health.statusCode()).isEqualTo(503);
        JsonNode schema = json(health).get("checks").get("schema");
        assertThat(schema.get("status").asText()).isEqualTo("DOWN");
        assertThat(schema.get("detail").asText()).contains("column public.user_settings.api_key_updated_at")
                .contains("PGRST204");
        assertThat(json(health).get("checks").get("postgrest").get("status").asText()).isEqualTo("UP");
        assertThat(json(health).get("checks").get("directDatabase").get("status").asText()).isEqualTo("UP");
        HttpResponse<String> diagnostics = checked(serviceGet("/api/v1/agent-config/" + tenant + "/" + user
                + "/diagnostics"));
        assertThat(diagnostics.statusCode()).as(diagnostics.body()).isEqualTo(200);
        assertThat(json(diagnostics).get("failedChecks").toString()).contains("schema-known");
        assertThat(diagnostics.body()).contains("column public.user_settings.api_key_updated_at");

        // the operator runs the migration; PostgREST knows the column: the next sync pass delivers the save
        stub.resetMappings();
        healthyPostgrest();
        stubRpc(rpcDone("{}"));
        Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200)).until(() -> {
            assertThat(postSync().statusCode()).isEqualTo(202);
            return localEntry(tenant, user).isEmpty();
        });
        LoggedRequest replay = sent(postRequestedFor(urlPathEqualTo(RPC))).get(sent(postRequestedFor(urlPathEqualTo(RPC))).size() - 1);
        assertThat(body(replay).get("p_retell_config").toString()).isEqualTo("{\"call_agent_id\":\"c_later\"}");
        assertThat(body(replay).get("p_field_versions").get("callAgentId").asLong())
                .isEqualTo(json(r).get("version").asLong());
        JsonNode healed = json(checked(serviceGet("/observe/health"))).get("checks").get("schema");
        assertThat(healed.get("status").asText()).as(healed.toString()).isEqualTo("UP");
    }

    private double reloads(String outcome) {
        var c = Search.in(context.getRegistry().lookupByNameAndType("meterRegistry", MeterRegistry.class))
                .name("agentconfig.postgrest.schema.reloads").tag("outcome", outcome).counter();
        return c == null ? 0 : c.count();
    }
}
