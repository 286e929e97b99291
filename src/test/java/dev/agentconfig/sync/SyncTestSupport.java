package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;

/** Helpers shared by the sync's test classes: run a pass, retry, read meters, park saves. */
public abstract class SyncTestSupport extends ServiceTestSupport {

    /** POST /api/v1/sync with the service token; asserts 202 and returns the pass summary. */
    protected JsonNode sync() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/sync"))
                .header("Authorization", "Bearer " + serviceToken)
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        return json(r);
    }

    protected HttpResponse<String> retry(String tenant, Object user) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user
                        + "/retry"))
                .header("Authorization", "Bearer " + serviceToken)
                .POST(HttpRequest.BodyPublishers.noBody()));
    }

    /**
     * Runs the saves while user_profiles is renamed away: both targets fail with schema drift
     * (the settings trigger's tenant guard reads user_profiles too), so every save is parked in
     * the local store as pending for both tables, without stopping the database.
     */
    protected void withTablesAway(Runnable saves) {
        execute("ALTER TABLE public.user_profiles RENAME TO user_profiles_away");
        try {
            saves.run();
        } finally {
            execute("ALTER TABLE public.user_profiles_away RENAME TO user_profiles");
        }
    }

    /** PUT that must be parked (202 queued); returns the answer. */
    protected JsonNode putQueued(String tenant, UUID user, String json) {
        HttpResponse<String> r = put(tenant, user, json);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        assertThat(json(r).get("status").asText()).as(r.body()).isEqualTo("queued");
        return json(r);
    }

    protected MeterRegistry meters() {
        return context.getRegistry().lookupByNameAndType("meterRegistry", MeterRegistry.class);
    }

    protected double gauge(String name) {
        return meters().get(name).gauge().value();
    }

    protected double replays(String target, String result) {
        var c = Search.in(meters()).name("agentconfig.sync.replays").tags("target", target, "result", result).counter();
        return c == null ? 0 : c.count();
    }

    protected static String text(Map<String, Object> row, String column) {
        Object v = row.get(column);
        return v == null ? null : v.toString();
    }

    protected static JsonNode jsonOf(Map<String, Object> row, String column) {
        return json(text(row, column));
    }
}
