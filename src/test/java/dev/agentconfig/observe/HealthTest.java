package dev.agentconfig.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** /observe/health: one test per check, each made to fail for real. */
class HealthTest extends ServiceTestSupport {

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.health.max-pending-age", "2s");
        p.setProperty("agentconfig.sync.interval", "60m");
        return p;
    }

    @BeforeEach
    void healthy() {
        if (!embedded().running()) {
            startDatabase();
        }
        resetBreakers();
    }

    private HttpResponse<String> health() {
        // open: no token
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
    }

    private JsonNode check(HttpResponse<String> r, String name) {
        return json(r).get("checks").get(name);
    }

    @Test
    void allUpWhenEverythingWorks() {
        HttpResponse<String> r = health();
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("status").asText()).isEqualTo("UP");
        for (String name : new String[] {"database", "schema", "localStore", "backlog", "quarantine"}) {
            assertThat(check(r, name).get("status").asText()).as(name).isEqualTo("UP");
        }
    }

    @Test
    void databaseStoppedIsDownButSavesAreStillAccepted() {
        stopDatabase();
        try {
            HttpResponse<String> r = health();
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(json(r).get("status").asText()).isEqualTo("DOWN");
            assertThat(check(r, "database").get("status").asText()).isEqualTo("DOWN");
            assertThat(check(r, "database").get("detail").asText()).contains("unreachable");
            assertThat(json(r).get("acceptingSaves").asBoolean()).isTrue();
        } finally {
            startDatabase();
        }
        assertThat(health().statusCode()).isEqualTo(200);
    }

    @Test
    void aDroppedColumnIsNamed() {
        execute("ALTER TABLE public.user_settings DROP COLUMN api_key_updated_at");
        try {
            HttpResponse<String> r = health();
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(check(r, "schema").get("status").asText()).isEqualTo("DOWN");
            assertThat(check(r, "schema").get("detail").asText())
                    .contains("column public.user_settings.api_key_updated_at").contains("PGRST204");
        } finally {
            execute("ALTER TABLE public.user_settings ADD COLUMN api_key_updated_at timestamptz");
        }
        assertThat(check(health(), "schema").get("status").asText()).isEqualTo("UP");
    }

    @Test
    void theSeedsMissingConflictTargetIsNamed() {
        var constraint = query("SELECT conname FROM pg_constraint WHERE conrelid = 'public.user_profiles'::regclass "
                + "AND contype = 'p'").get(0).get("conname");
        execute("ALTER TABLE public.user_profiles DROP CONSTRAINT " + constraint + " CASCADE");
        try {
            HttpResponse<String> r = health();
            assertThat(check(r, "schema").get("detail").asText())
                    .contains("unique constraint on public.user_profiles(user_id)").contains("409");
        } finally {
            execute("ALTER TABLE public.user_profiles ADD PRIMARY KEY (user_id)");
        }
        assertThat(check(health(), "schema").get("status").asText()).isEqualTo("UP");
    }

    @Test
    void anUnwritableLocalStoreIsDownAndSavesAreNotAcceptedWithoutTheDatabase() throws Exception {
        Path store = dataDir.resolve("local-store");
        Path aside = dataDir.resolve("local-store.aside");
        Files.move(store, aside);
        Files.writeString(store, "a file where the directory should be");
        try {
            HttpResponse<String> r = health();
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(check(r, "localStore").get("status").asText()).isEqualTo("DOWN");
            stopDatabase();
            assertThat(json(health()).get("acceptingSaves").asBoolean()).isFalse();
        } finally {
            startDatabase();
            Files.delete(store);
            Files.move(aside, store);
        }
        assertThat(check(health(), "localStore").get("status").asText()).isEqualTo("UP");
    }

    @Test
    void anOldBacklogAndAQuarantineAreDown() {
        String tenant = newTenant();
        stopDatabase();
        try {
            assertThat(put(tenant, UUID.randomUUID(), "{\"callAgentId\":\"waiting\"}").statusCode()).isEqualTo(202);
            // the backlog check turns DOWN once the oldest entry is older than max-pending-age (2 s here)
            await().atMost(Duration.ofSeconds(15)).until(() ->
                    check(health(), "backlog").get("status").asText().equals("DOWN"));
            JsonNode backlog = check(health(), "backlog");
            assertThat(backlog.get("pending").asInt()).isGreaterThanOrEqualTo(1);
            assertThat(backlog.get("oldestPendingSeconds").asInt()).isGreaterThanOrEqualTo(2);
        } finally {
            startDatabase();
        }
        execute("ALTER TABLE public.user_settings ADD CONSTRAINT health_refuse CHECK "
                + "(retell_config ->> 'sms_agent_id' IS DISTINCT FROM 'refused')");
        try {
            resetBreakers();
            assertThat(json(put(tenant, UUID.randomUUID(), "{\"smsAgentId\":\"refused\"}")).get("status").asText())
                    .isEqualTo("quarantined");
            JsonNode quarantine = check(health(), "quarantine");
            assertThat(quarantine.get("status").asText()).isEqualTo("DOWN");
            assertThat(quarantine.get("quarantined").asInt()).isEqualTo(1);
        } finally {
            execute("ALTER TABLE public.user_settings DROP CONSTRAINT health_refuse");
        }
    }
}
