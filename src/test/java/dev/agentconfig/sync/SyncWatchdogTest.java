package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.ServiceStatus;
import org.junit.jupiter.api.Test;

/**
 * A queue that stopped retrying is noticed and restarted: the sync's timer route is stopped (its timer
 * cancelled) while an entry waits, and with nobody asking, the watchdog (every 500 ms here) starts it again
 * and the entry drains into the tables. Without the watchdog nothing would ever replay it.
 */
class SyncWatchdogTest extends SyncTestSupport {

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.sync.interval", "1s");
        p.setProperty("agentconfig.sync.initial-delay", "1s");
        p.setProperty("agentconfig.sync.watchdog.period", "500ms");
        return p;
    }

    private double restarts() {
        return meters().get("agentconfig.sync.watchdog.restarts").counter().count();
    }

    @Test
    void aCancelledSyncTimerIsRestartedByTheWatchdogAndTheParkedSaveDrains() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        double before = restarts();
        // the fault: the timer is cancelled, as a route stopped by a JMX call, a failed reload or a bug
        context.getRouteController().stopRoute(SyncWatchdog.TIMER_ROUTE);
        assertThat(context.getRouteController().getRouteStatus(SyncWatchdog.TIMER_ROUTE)).isEqualTo(ServiceStatus.Stopped);
        withTablesAway(() -> putQueued(tenant, user, "{\"callAgentId\":\"call_after_stall\"}"));

        await().atMost(Duration.ofSeconds(60)).until(() -> localEntry(tenant, user).isEmpty());
        assertThat(context.getRouteController().getRouteStatus(SyncWatchdog.TIMER_ROUTE)).isEqualTo(ServiceStatus.Started);
        assertThat(restarts()).isGreaterThan(before);
        assertThat(logs.text()).contains("Sync watchdog: the sync's timer is stopped (route sync-local-store); restarting it");
        assertThat(jsonOf(profileRow(user).orElseThrow(), "encrypted_agent_config").get("call_agent_id").asText())
                .isEqualTo("call_after_stall");
        // and the health says when the last pass ran and that the watchdog acted
        HttpResponse<String> health = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
        JsonNode sync = json(health).get("checks").get("sync");
        assertThat(sync.get("status").asText()).as(health.body()).isEqualTo("UP");
        assertThat(sync.get("watchdogRestarts").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(sync.get("lastRestart").asText()).contains("the sync's timer is stopped");
    }
}
