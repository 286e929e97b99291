package dev.agentconfig.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * agentconfig.parking=kafka, but the broker cannot take a parked save (nothing listens at its address) while the
 * database is down too: the save waits for the broker at most agentconfig.kafka.park-timeout, then is parked in
 * this instance's local store (202: it is durable there), counted, and logged once for the outage; the local sync
 * drains it when the database is back.
 */
class ParkingFallbackTest extends ServiceTestSupport {
    private static final int DEAD_PORT = freePort();
    private static final Duration PARK_TIMEOUT = Duration.ofSeconds(1);

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.kafka.bootstrap-servers", "127.0.0.1:" + DEAD_PORT);
        p.setProperty("agentconfig.parking", "kafka");
        p.setProperty("agentconfig.kafka.park-timeout", PARK_TIMEOUT.toMillis() + "ms");
        return p;
    }

    @Test
    void whenTheBrokerCannotTakeItTheSaveIsParkedLocallyAfterTheBoundAndSyncedLater() {
        String tenant = newTenant();
        UUID user = newUser();
        UUID other = newUser();
        String key = newKey();
        stopDatabase();
        try {
            long t0 = System.nanoTime();
            HttpResponse<String> r = put(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"c_local\"}");
            long waited = (System.nanoTime() - t0) / 1_000_000;
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            assertThat(json(r).get("status").asText()).isEqualTo("queued");
            // the broker was given its bound before the save went to the disk (the fault: it never answered)
            assertThat(waited).isGreaterThanOrEqualTo(PARK_TIMEOUT.toMillis());
            assertThat(put(tenant, other, "{\"callAgentId\":\"c_other\"}").statusCode()).isEqualTo(202);
            // durable on this instance's disk, the key sealed
            JsonNode entry = localEntry(tenant, user).orElseThrow();
            assertThat(entry.get("fields").get("callAgentId").get("value").asText()).isEqualTo("c_local");
            assertThat(localEntry(tenant, other)).isPresent();
            JsonNode health = parkingHealth();
            assertThat(health.get("mode").asText()).isEqualTo("kafka");
            assertThat(health.get("fellBackLocally").asLong()).isEqualTo(2);
            assertThat(health.get("parkedOnKafka").asLong()).isZero();
            assertThat(health.get("detail").asText()).contains("did not take the last parked save");
            // logged once for the outage, not once per save
            assertThat(logs.text().split("parked locally: broker unreachable", -1)).hasSize(2);
        } finally {
            startDatabase();
        }
        // the local sync drains it as for parking=local
        send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/sync"))
                .header("Authorization", "Bearer " + serviceToken).POST(HttpRequest.BodyPublishers.noBody()));
        await().atMost(Duration.ofSeconds(30)).until(() -> localEntry(tenant, user).isEmpty()
                && localEntry(tenant, other).isEmpty());
        assertThat(json((String) profileRow(user).orElseThrow().get("encrypted_agent_config")).get("call_agent_id")
                .asText()).isEqualTo("c_local");
        assertThat(json((String) settingsRow(other).orElseThrow().get("retell_config")).get("call_agent_id")
                .asText()).isEqualTo("c_other");
        assertNotInDataDir(key);
    }

    private JsonNode parkingHealth() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
        return json(r).get("checks").get("parking");
    }
}
