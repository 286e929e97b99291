package dev.agentconfig.observe;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/** /observe/metrics scraped after known traffic: the figures match what happened. */
class MetricsTest extends ServiceTestSupport {

    private String scrape() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/metrics"))
                .header("Authorization", "Bearer " + serviceToken).GET());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
        return r.body();
    }

    static double value(String scrape, String metric, String labels) {
        String labelPart = labels.isEmpty() ? "(\\{[^}]*\\})?" : "\\{" + Pattern.quote(labels) + "[^}]*\\}";
        Pattern p = Pattern.compile("^" + Pattern.quote(metric) + labelPart + " (\\S+)$", Pattern.MULTILINE);
        Matcher m = p.matcher(scrape);
        return m.find() ? Double.parseDouble(m.group(m.groupCount())) : 0.0;
    }

    @Test
    void metricsCountWhatHappened() {
        String tenant = newTenant();
        for (int i = 0; i < 3; i++) {
            assertThat(put(tenant, UUID.randomUUID(), "{\"callAgentId\":\"m" + i + "\"}").statusCode()).isEqualTo(200);
        }
        assertThat(put(tenant, UUID.randomUUID(), "{\"bogus\":1}").statusCode()).isEqualTo(400);
        assertThat(put(tenant, UUID.randomUUID(), "{\"callAgentId\":\"bad id\"}").statusCode()).isEqualTo(400);
        UUID read = UUID.randomUUID();
        put(tenant, read, "{\"smsAgentId\":\"r\"}");
        send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + read))
                .header("Authorization", "Bearer " + serviceToken).GET());
        stopDatabase();
        try {
            assertThat(put(tenant, UUID.randomUUID(), "{\"callAgentId\":\"down\"}").statusCode()).isEqualTo(202);
            String s = scrape();
            assertThat(value(s, "agentconfig_saves_total", "outcome=\"saved\",target=\"user_profiles\"")).isEqualTo(4.0);
            assertThat(value(s, "agentconfig_saves_total", "outcome=\"saved\",target=\"user_settings\"")).isEqualTo(4.0);
            assertThat(value(s, "agentconfig_saves_total", "outcome=\"queued\",target=\"user_profiles\"")).isEqualTo(1.0);
            assertThat(value(s, "agentconfig_saves_refused_total", "status=\"400\"")).isEqualTo(2.0);
            assertThat(value(s, "agentconfig_save_duration_seconds_count", "")).isEqualTo(7.0);
            assertThat(s).contains("agentconfig_save_duration_seconds_bucket{le=");
            assertThat(value(s, "agentconfig_read_seconds_count", "")).isGreaterThanOrEqualTo(1.0);
            assertThat(s).contains("agentconfig_circuit_breaker_state{state=\"closed\",target=\"user_profiles\"}");
        } finally {
            startDatabase();
        }
        // saves are refused by the breaker only once it opened: make it open, then look
        stopDatabase();
        try {
            for (int i = 0; i < 6; i++) {
                put(tenant, UUID.randomUUID(), "{\"callAgentId\":\"down" + i + "\"}");
            }
            String s = scrape();
            assertThat(value(s, "agentconfig_circuit_breaker_state", "state=\"forced_open\",target=\"user_profiles\""))
                    .isEqualTo(1.0);
        } finally {
            startDatabase();
        }
    }

    @Test
    void metricsNeedTheServiceToken() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/metrics")).GET());
        assertThat(r.statusCode()).isEqualTo(401);
    }
}
