package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.SteppableClock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two instances share one database; the second one's clock is an hour behind. A save it takes
 * after the first instance saved the same user must still win, in both tables, and be answered
 * as saved; a replay by the sync keeps the versions it was parked with.
 */
class ClockBehindTest extends SyncTestSupport {
    private SecondService behind;

    @BeforeEach
    void secondInstance() throws Exception {
        if (!embedded().running()) {
            startDatabase();
        }
        resetBreakers();
        if (behind == null) {
            behind = new SecondService(embedded().jdbcUrl(), embedded().user(), embedded().password(), encryptionKey, new Properties(),
                    new SteppableClock(Duration.ofHours(-1)));
        }
    }

    @AfterAll
    void stopSecond() {
        if (behind != null) {
            behind.close();
        }
    }

    private void bothTablesHold(UUID user, String column, String value, long version, String field) {
        for (Map<String, Object> row : List.of(profileRow(user).orElseThrow(), settingsRow(user).orElseThrow())) {
            String config = row.containsKey("encrypted_agent_config") ? "encrypted_agent_config" : "retell_config";
            assertThat(jsonOf(row, config).get(column).asText()).isEqualTo(value);
            assertThat(jsonOf(row, "field_versions").get(field).asLong()).isEqualTo(version);
        }
    }

    @Test
    void aSaveOnTheInstanceWhoseClockIsAnHourBehindWins() {
        String tenant = newTenant();
        UUID user = newUser();
        HttpResponse<String> a = put(tenant, user, "{\"callAgentId\":\"from_a\",\"smsAgentId\":\"sms_a\"}");
        assertThat(json(a).get("status").asText()).as(a.body()).isEqualTo("saved");

        HttpResponse<String> b = behind.put(tenant, user, "{\"callAgentId\":\"from_b\"}");

        assertThat(b.statusCode()).as(b.body()).isEqualTo(200);
        assertThat(json(b).get("status").asText()).as(b.body()).isEqualTo("saved");
        assertThat(json(b).get("targets").get("user_profiles").asText()).isEqualTo("saved");
        assertThat(json(b).get("targets").get("user_settings").asText()).isEqualTo("saved");
        long vb = json(b).get("version").asLong();
        assertThat(vb).isGreaterThan(json(a).get("version").asLong());
        bothTablesHold(user, "call_agent_id", "from_b", vb, "callAgentId");
        bothTablesHold(user, "sms_agent_id", "sms_a", json(a).get("version").asLong(), "smsAgentId");
        JsonNode read = json(behind.get(tenant, user));
        assertThat(read.get("callAgentId").asText()).isEqualTo("from_b");
        assertThat(read.get("smsAgentId").asText()).isEqualTo("sms_a");

        // and the other way round: the instance in time saves after it and wins as well
        HttpResponse<String> a2 = put(tenant, user, "{\"callAgentId\":\"from_a_again\"}");
        assertThat(json(a2).get("status").asText()).as(a2.body()).isEqualTo("saved");
        bothTablesHold(user, "call_agent_id", "from_a_again", json(a2).get("version").asLong(), "callAgentId");
    }

    @Test
    void aParkedSaveOfTheInstanceBehindIsReplayedWithItsOwnVersionsNotReversioned() {
        String tenant = newTenant();
        UUID user = newUser();
        long[] parked = new long[1];
        withTablesAway(() -> {
            HttpResponse<String> r = behind.put(tenant, user, "{\"callAgentId\":\"parked_b\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            parked[0] = json(r).get("version").asLong();
        });
        HttpResponse<String> a = put(tenant, user, "{\"callAgentId\":\"direct_a\"}");
        assertThat(json(a).get("status").asText()).isEqualTo("saved");

        JsonNode pass = behind.sync();

        // the parked save is older than the direct one: the replay changes nothing (stale), it is
        // not given a new version to win with
        assertThat(pass.get("drained").asInt()).isEqualTo(1);
        bothTablesHold(user, "call_agent_id", "direct_a", json(a).get("version").asLong(), "callAgentId");
        assertThat(parked[0]).isLessThan(json(a).get("version").asLong());
    }
}
