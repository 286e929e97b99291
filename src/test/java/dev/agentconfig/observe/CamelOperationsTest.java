package dev.agentconfig.observe;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;
import org.junit.jupiter.api.Test;

/**
 * The service's health checks live in Camel's health-check registry and its route metrics come from
 * camel-micrometer on the service's one meter registry: what Camel's own tools (HealthCheckHelper, JMX,
 * the developer console) show agrees with /observe/health and /observe/metrics.
 */
class CamelOperationsTest extends ServiceTestSupport {

    private HttpResponse<String> health() {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
    }

    private String scrape() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/metrics"))
                .header("Authorization", "Bearer " + serviceToken).GET());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    /** The service's checks as Camel's registry answers them (the way JMX and the console call them). */
    private Map<String, HealthCheck.Result> camelChecks() {
        Map<String, HealthCheck.Result> byId = new LinkedHashMap<>();
        HealthCheckHelper.invoke(context, "full").stream()
                .filter(r -> ServiceChecks.GROUP.equals(r.getCheck().getGroup()))
                .forEach(r -> byId.put(r.getCheck().getId(), r));
        return byId;
    }

    @Test
    void everyCheckOfHealthIsACamelHealthCheckAndTheyAgree() {
        Map<String, HealthCheck.Result> camel = camelChecks();
        assertThat(camel.keySet()).containsExactly("database", "schema", "localStore", "backlog", "quarantine", "keys",
                "parking", "sync");
        assertThat(camel.values()).allMatch(r -> r.getState() == HealthCheck.State.UP);
        JsonNode checks = json(health()).get("checks");
        assertThat(checks.fieldNames()).toIterable().containsExactly("database", "schema", "localStore", "backlog",
                "quarantine", "keys", "parking", "sync");
        camel.forEach((id, r) -> assertThat(checks.get(id).get("detail").asText()).as(id)
                .isEqualTo(r.getMessage().orElseThrow()));
        // each check shows its own figures in its own order, none of Camel's bookkeeping
        assertThat(checks.get("backlog").fieldNames()).toIterable()
                .containsExactly("status", "detail", "pending", "oldestPendingSeconds", "maxPendingSeconds", "drain");
        assertThat(checks.get("database").fieldNames()).toIterable().containsExactly("status", "detail");
        // readiness checks: a restart mends none of them, so none is a liveness check
        for (String id : camel.keySet()) {
            HealthCheck check = HealthCheckHelper.getHealthCheck(context, id);
            assertThat(check.isReadiness()).as(id).isTrue();
            assertThat(check.isLiveness()).as(id).isFalse();
        }
        // Camel's own checks stay in its registry; /observe/health answers the service's only
        assertThat(HealthCheckHelper.getHealthCheck(context, "context")).isNotNull();
        assertThat(checks.has("context")).isFalse();
    }

    @Test
    void aStoppedDatabaseIsDownInCamelsRegistryToo() {
        stopDatabase();
        try {
            Map<String, HealthCheck.Result> camel = camelChecks();
            assertThat(camel.get("database").getState()).isEqualTo(HealthCheck.State.DOWN);
            assertThat(camel.get("schema").getState()).isEqualTo(HealthCheck.State.DOWN);
            assertThat(camel.get("localStore").getState()).isEqualTo(HealthCheck.State.UP);
            HttpResponse<String> r = health();
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(json(r).get("checks").get("database").get("status").asText()).isEqualTo("DOWN");
            assertThat(json(r).get("acceptingSaves").asBoolean()).isTrue();
        } finally {
            startDatabase();
        }
        assertThat(camelChecks().get("database").getState()).isEqualTo(HealthCheck.State.UP);
    }

    @Test
    void camelsRouteMetricsAreOnTheServicesRegistryAndScraped() {
        String tenant = newTenant();
        for (int i = 0; i < 3; i++) {
            assertThat(put(tenant, UUID.randomUUID(), "{\"callAgentId\":\"c" + i + "\"}").statusCode()).isEqualTo(200);
        }
        MeterRegistry meters = context.getRegistry().lookupByNameAndType("meterRegistry", MeterRegistry.class);
        // the route policy times every route; the save route ran three times
        assertThat(meters.find("camel.route.policy").tag("routeId", "save-agent-config").timer()).isNotNull()
                .satisfies(t -> assertThat(t.count()).isEqualTo(3));
        String s = scrape();
        assertThat(MetricsTest.value(s, "camel_exchanges_total", "")).isGreaterThanOrEqualTo(3.0);
        assertThat(s).containsPattern("camel_route_policy_seconds_count\\{[^}]*routeId=\"save-agent-config\"[^}]*\\} 3(\\.0)?");
        // the whole exchange, as the front door received it (the context-level timer)
        assertThat(s).containsPattern("camel_route_policy_seconds_count\\{[^}]*eventType=\"context\"[^}]*\\} [1-9]");
        assertThat(s).contains("camel_routes_running_routes{");
        // the JVM's meters (camel.metrics.binders) and the service's own, on the same registry
        assertThat(s).contains("jvm_memory_used_bytes{").contains("jvm_threads_live_threads")
                .contains("system_cpu_count").contains("agentconfig_saves_total{");
        // no identifier reaches a tag: endpoints are named by their static URIs
        assertThat(s).doesNotContain(tenant);
        for (String line : List.of(s.split("\n"))) {
            assertThat(line).doesNotContainPattern("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
        }
    }
}
