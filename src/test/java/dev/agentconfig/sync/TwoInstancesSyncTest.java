package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two instances of the service share one database, each with its own local store: this test
 * class's service (A, owner of the embedded PostgreSQL) and a second in-process service (B)
 * configured with A's database as its external agentconfig.db.url. Conflicting saves for the
 * same users are parked in both local stores; whichever instance drains first (or both at
 * once), the newest version of each field ends up in both tables.
 */
class TwoInstancesSyncTest extends SyncTestSupport {
    private SecondService b;

    @BeforeEach
    void secondInstance() throws Exception {
        if (!embedded().running()) {
            startDatabase();
        }
        resetBreakers();
        if (b == null) {
            b = new SecondService(embedded().jdbcUrl(), embedded().user(), embedded().password(),
                    encryptionKey, new Properties());
        }
    }

    @AfterAll
    void stopSecond() {
        if (b != null) {
            b.close();
        }
    }

    enum Order { A_FIRST, B_FIRST, TOGETHER }

    @Test
    void theNewestVersionPerFieldWinsWhicheverInstanceDrainsFirst() throws Exception {
        for (Order order : Order.values()) {
            String tenant = newTenant();
            List<UUID> users = List.of(newUser(), newUser(), newUser());
            List<Expected> expected = new ArrayList<>();
            // interleaved saves for the same users on both instances, all parked (schema drift)
            withTablesAway(() -> users.forEach(u -> {
                long v1 = queued(put(tenant, u, "{\"callAgentId\":\"a1\",\"smsAgentId\":\"a1\"}"));
                long v2 = queued(b.put(tenant, u, "{\"callAgentId\":\"b2\"}"));
                long v3 = queued(put(tenant, u, "{\"smsAgentId\":\"a3\"}"));
                long v4 = queued(b.put(tenant, u, "{\"retellApiKey\":\"" + newKey() + "\"}"));
                assertThat(v1).isLessThan(v2);
                assertThat(v2).isLessThan(v3);
                assertThat(v3).isLessThan(v4);
                expected.add(new Expected(u, v2, v3, v4, b.localEntry(tenant, u).orElseThrow()
                        .get("fields").get("retellApiKey").get("value").asText()));
            }));

            switch (order) {
                case A_FIRST -> {
                    assertThat(sync().get("drained").asInt()).isEqualTo(users.size());
                    assertThat(b.sync().get("drained").asInt()).isEqualTo(users.size());
                }
                case B_FIRST -> {
                    assertThat(b.sync().get("drained").asInt()).isEqualTo(users.size());
                    assertThat(sync().get("drained").asInt()).isEqualTo(users.size());
                }
                case TOGETHER -> {
                    var onA = CompletableFuture.supplyAsync(this::sync);
                    var onB = CompletableFuture.supplyAsync(b::sync);
                    assertThat(onA.get().get("drained").asInt() + onB.get().get("drained").asInt())
                            .isEqualTo(2 * users.size());
                }
            }

            for (Expected e : expected) {
                assertThat(localEntry(tenant, e.user)).isEmpty();
                assertThat(b.localEntry(tenant, e.user)).isEmpty();
                Map<String, Object> profile = profileRow(e.user).orElseThrow();
                Map<String, Object> settings = settingsRow(e.user).orElseThrow();
                String at = order + " " + e.user;
                assertThat(jsonOf(profile, "encrypted_agent_config").get("call_agent_id").asText()).as(at).isEqualTo("b2");
                assertThat(jsonOf(profile, "encrypted_agent_config").get("sms_agent_id").asText()).as(at).isEqualTo("a3");
                assertThat(text(profile, "encrypted_retell_api_key")).as(at).isEqualTo(e.envelope);
                assertThat(jsonOf(settings, "retell_config").get("call_agent_id").asText()).as(at).isEqualTo("b2");
                assertThat(jsonOf(settings, "retell_config").get("sms_agent_id").asText()).as(at).isEqualTo("a3");
                assertThat(jsonOf(settings, "encrypted_api_keys").get("retell_api_key").asText()).as(at).isEqualTo(e.envelope);
                for (Map<String, Object> row : List.of(profile, settings)) {
                    JsonNode v = jsonOf(row, "field_versions");
                    assertThat(v.get("callAgentId").asLong()).as(at).isEqualTo(e.call);
                    assertThat(v.get("smsAgentId").asLong()).as(at).isEqualTo(e.sms);
                    assertThat(v.get("retellApiKey").asLong()).as(at).isEqualTo(e.key);
                }
            }
        }
    }

    @Test
    void anInstanceStartedWhileItsDatabaseIsDownQueuesSkipsPassesAndDrainsOnceTheSchemaIsReachable()
            throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        stopDatabase();
        SecondService late = null;
        try {
            // an external database that is down at start: the schema cannot be migrated yet
            late = new SecondService(embedded().jdbcUrl(), embedded().user(), embedded().password(),
                    encryptionKey, new Properties());
            HttpResponse<String> r = late.put(tenant, user, "{\"callAgentId\":\"c_late\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            JsonNode skipped = late.sync();
            assertThat(skipped.get("status").asText()).isEqualTo("skipped");
            assertThat(skipped.get("reason").asText()).isEqualTo("schema-not-migrated");
            assertThat(skipped.get("stillPending").asInt()).isEqualTo(1);
            assertThat(late.localEntry(tenant, user).orElseThrow().get("attempts").asInt()).isEqualTo(1);

            startDatabase();
            SecondService instance = late;
            // drained by a pass it asks for, or by the one the breaker probe starts on its own when it finds the
            // database back (drain on return): either way the entry goes and the row arrives
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(300))
                    .until(() -> "completed".equals(instance.sync().get("status").asText())
                            && instance.localEntry(tenant, user).isEmpty());

            assertThat(late.localEntry(tenant, user)).isEmpty();
            assertThat(jsonOf(profileRow(user).orElseThrow(), "encrypted_agent_config").get("call_agent_id").asText())
                    .isEqualTo("c_late");
            assertThat(jsonOf(settingsRow(user).orElseThrow(), "retell_config").get("call_agent_id").asText())
                    .isEqualTo("c_late");
        } finally {
            if (!embedded().running()) {
                startDatabase();
            }
            if (late != null) {
                late.close();
            }
        }
    }

    private static long queued(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        assertThat(json(r).get("status").asText()).as(r.body()).isEqualTo("queued");
        return json(r).get("version").asLong();
    }

    private record Expected(UUID user, long call, long sms, long key, String envelope) {
    }
}
