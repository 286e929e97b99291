package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Properties;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.ServiceStatus;
import org.junit.jupiter.api.Test;

/**
 * The health while the sync is lost: DOWN with the reason until the watchdog restarts it. The watchdog's own
 * schedule is an hour here, so that the test takes its one look itself (SyncWatchdog#check) and sees the state
 * before it.
 */
class SyncWatchdogHealthTest extends SyncTestSupport {

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.sync.watchdog.period", "1h");
        return p;
    }

    private HttpResponse<String> health() {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
    }

    @Test
    void aSuspendedOrStoppedTimerIsDownWithTheReasonUntilTheWatchdogRestartsIt() throws Exception {
        SyncWatchdog watchdog = context.getRegistry().lookupByNameAndType("syncWatchdog", SyncWatchdog.class);
        assertThat(json(health()).get("checks").get("sync").get("status").asText()).isEqualTo("UP");
        for (boolean suspend : new boolean[] {true, false}) {
            if (suspend) {
                context.getRouteController().suspendRoute(SyncWatchdog.TIMER_ROUTE);
            } else {
                context.getRouteController().stopRoute(SyncWatchdog.TIMER_ROUTE);
            }
            HttpResponse<String> down = health();
            assertThat(down.statusCode()).as(down.body()).isEqualTo(503);
            JsonNode sync = json(down).get("checks").get("sync");
            assertThat(sync.get("status").asText()).isEqualTo("DOWN");
            assertThat(sync.get("detail").asText()).isEqualTo("the sync's timer is " + (suspend ? "suspended" : "stopped")
                    + "; the watchdog restarts it");

            watchdog.check();
            assertThat(context.getRouteController().getRouteStatus(SyncWatchdog.TIMER_ROUTE))
                    .isEqualTo(ServiceStatus.Started);
            HttpResponse<String> up = health();
            assertThat(json(up).get("checks").get("sync").get("status").asText()).as(up.body()).isEqualTo("UP");
        }
    }
}
