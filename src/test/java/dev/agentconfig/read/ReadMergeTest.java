package dev.agentconfig.read;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.crypto.FieldCipher;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every merge case of direct:read against the real embedded PostgreSQL and real local-store
 * files: per field, the newest version wins wherever it lives; on a tie user_profiles beats
 * user_settings beats the local store; each field says where it came from.
 */
class ReadMergeTest extends ReadTestSupport {

    @BeforeEach
    void healthy() {
        if (!embedded().running()) {
            startDatabase();
        }
        resetBreakers();
    }

    @Test
    void databaseOnly() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        HttpResponse<String> saved = put(tenant, user,
                "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"call_db\",\"smsAgentId\":\"sms_db\"}");
        assertThat(saved.statusCode()).as(saved.body()).isEqualTo(200);
        long version = json(saved).get("version").asLong();

        JsonNode view = read(tenant, user);

        assertThat(view.get("tenantId").asText()).isEqualTo(tenant);
        assertThat(view.get("userId").asText()).isEqualTo(user.toString());
        assertThat(view.get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(key)).doesNotContain(key);
        assertThat(view.get("callAgentId").asText()).isEqualTo("call_db");
        assertThat(view.get("smsAgentId").asText()).isEqualTo("sms_db");
        for (String f : List.of("retellApiKey", "callAgentId", "smsAgentId")) {
            // both tables hold the save at the same version: the tie goes to user_profiles
            assertThat(view.get("fields").get(f).get("source").asText()).isEqualTo("user_profiles");
            assertThat(view.get("fields").get(f).get("version").asLong()).isEqualTo(version);
            assertThat(view.get("fields").get(f).get("updatedAt").asText()).startsWith(
                    dev.agentconfig.core.HybridLogicalClock.instant(version).toString().substring(0, 19));
        }
        assertThat(view.get("sync").get("state").asText()).isEqualTo("synced");
        assertThat(view.get("sync").get("pendingTargets")).isEmpty();
        assertThat(view.get("sources").get("user_profiles").get("status").asText()).isEqualTo("ok");
        assertThat(view.get("sources").get("user_settings").get("status").asText()).isEqualTo("ok");
        assertThat(view.get("sources").get("local_store").get("status").asText()).isEqualTo("empty");
        assertThat(view.toString()).doesNotContain(key).doesNotContain("v1:");
    }

    @Test
    void localStoreOnlyTheSeedsFix3() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        stopDatabase();
        try {
            HttpResponse<String> saved = put(tenant, user,
                    "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"call_local\",\"smsAgentId\":\"sms_local\"}");
            assertThat(saved.statusCode()).as(saved.body()).isEqualTo(202);
            long version = json(saved).get("version").asLong();

            JsonNode view = read(tenant, user);

            assertThat(view.get("callAgentId").asText()).isEqualTo("call_local");
            assertThat(view.get("smsAgentId").asText()).isEqualTo("sms_local");
            assertThat(view.get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(key));
            for (String f : List.of("retellApiKey", "callAgentId", "smsAgentId")) {
                assertThat(view.get("fields").get(f).get("source").asText()).isEqualTo("local_store");
                assertThat(view.get("fields").get(f).get("version").asLong()).isEqualTo(version);
            }
            JsonNode sync = view.get("sync");
            assertThat(sync.get("state").asText()).isEqualTo("pending");
            assertThat(sync.get("pendingTargets").toString()).contains("user_profiles", "user_settings");
            assertThat(sync.get("attempts").asInt()).isEqualTo(1);
            assertThat(sync.get("lastError").get("class").asText()).isEqualTo("transient");
            assertThat(view.get("sources").get("user_profiles").get("status").asText()).isEqualTo("error");
            assertThat(view.get("sources").get("user_profiles").get("errorClass").asText()).isEqualTo("transient");
            assertThat(view.get("sources").get("user_settings").get("status").asText()).isEqualTo("error");
            assertThat(view.get("sources").get("local_store").get("status").asText()).isEqualTo("ok");
        } finally {
            startDatabase();
        }
    }

    @Test
    void keyInUserProfilesButAgentIdsOnlyInUserSettings() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        long v1 = versionAt(Instant.now().minusSeconds(60));
        long v2 = versionAt(Instant.now().minusSeconds(30));
        // the seed's first bug: the key reached user_profiles, the agent config did not
        insertProfile(tenant, user, seal(tenant, user, key), "{}", "{\"retellApiKey\":" + v1 + "}");
        insertSettings(tenant, user, "{\"call_agent_id\":\"call_settings\",\"sms_agent_id\":\"sms_settings\"}", "{}",
                "{\"callAgentId\":" + v2 + ",\"smsAgentId\":" + v2 + "}");

        JsonNode view = read(tenant, user);

        assertThat(view.get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(key));
        assertThat(view.get("fields").get("retellApiKey").get("source").asText()).isEqualTo("user_profiles");
        assertThat(view.get("fields").get("retellApiKey").get("version").asLong()).isEqualTo(v1);
        assertThat(view.get("callAgentId").asText()).isEqualTo("call_settings");
        assertThat(view.get("smsAgentId").asText()).isEqualTo("sms_settings");
        assertThat(view.get("fields").get("callAgentId").get("source").asText()).isEqualTo("user_settings");
        assertThat(view.get("fields").get("smsAgentId").get("source").asText()).isEqualTo("user_settings");
        assertThat(view.get("fields").get("smsAgentId").get("version").asLong()).isEqualTo(v2);
    }

    @Test
    void keyInUserProfilesButAgentIdsOnlyInTheLocalStore() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        long v1 = versionAt(Instant.now().minusSeconds(60));
        long v2 = versionAt(Instant.now().minusSeconds(30));
        insertProfile(tenant, user, seal(tenant, user, key), "{}", "{\"retellApiKey\":" + v1 + "}");
        writeLocalEntry(tenant, user, Map.of("callAgentId", local("call_local", v2), "smsAgentId", local("sms_local", v2)),
                List.of("user_profiles", "user_settings"), "pending");

        JsonNode view = read(tenant, user);

        assertThat(view.get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(key));
        assertThat(view.get("fields").get("retellApiKey").get("source").asText()).isEqualTo("user_profiles");
        assertThat(view.get("callAgentId").asText()).isEqualTo("call_local");
        assertThat(view.get("smsAgentId").asText()).isEqualTo("sms_local");
        assertThat(view.get("fields").get("callAgentId").get("source").asText()).isEqualTo("local_store");
        assertThat(view.get("sync").get("state").asText()).isEqualTo("pending");
        assertThat(view.get("sources").get("user_settings").get("status").asText()).isEqualTo("empty");
    }

    @Test
    void aLocalValueNewerThanTheDatabaseWins() {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"callAgentId\":\"call_old\",\"smsAgentId\":\"sms_db\"}").statusCode())
                .isEqualTo(200);
        stopDatabase();
        long newer;
        try {
            HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"call_new\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            newer = json(r).get("version").asLong();
        } finally {
            startDatabase();
        }
        resetBreakers();

        JsonNode view = read(tenant, user);

        assertThat(view.get("callAgentId").asText()).isEqualTo("call_new");
        assertThat(view.get("fields").get("callAgentId").get("source").asText()).isEqualTo("local_store");
        assertThat(view.get("fields").get("callAgentId").get("version").asLong()).isEqualTo(newer);
        // the field the outage did not touch still comes from the database
        assertThat(view.get("smsAgentId").asText()).isEqualTo("sms_db");
        assertThat(view.get("fields").get("smsAgentId").get("source").asText()).isEqualTo("user_profiles");
        assertThat(view.get("sync").get("state").asText()).isEqualTo("pending");
    }

    @Test
    void aDatabaseValueNewerThanTheLocalOneWins() {
        String tenant = newTenant();
        UUID user = newUser();
        stopDatabase();
        try {
            assertThat(put(tenant, user, "{\"callAgentId\":\"call_local_old\"}").statusCode()).isEqualTo(202);
        } finally {
            startDatabase();
        }
        resetBreakers();
        HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"call_db_new\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);

        JsonNode view = read(tenant, user);

        assertThat(view.get("callAgentId").asText()).isEqualTo("call_db_new");
        assertThat(view.get("fields").get("callAgentId").get("source").asText()).isEqualTo("user_profiles");
        assertThat(view.get("fields").get("callAgentId").get("version").asLong()).isEqualTo(json(r).get("version").asLong());
        // the older entry still waits for the sync (which will find the database newer)
        assertThat(view.get("sync").get("state").asText()).isEqualTo("pending");
    }

    @Test
    void equalVersionsFollowTheTieOrder() {
        String tenant = newTenant();
        UUID user = newUser();
        long v = versionAt(Instant.now().minusSeconds(10));
        // callAgentId in all three at the same version; smsAgentId in user_settings and the local
        // store; retellApiKey only in the local store
        insertProfile(tenant, user, null, "{\"call_agent_id\":\"call_p\"}", "{\"callAgentId\":" + v + "}");
        insertSettings(tenant, user, "{\"call_agent_id\":\"call_s\",\"sms_agent_id\":\"sms_s\"}", "{}",
                "{\"callAgentId\":" + v + ",\"smsAgentId\":" + v + "}");
        String key = newKey();
        writeLocalEntry(tenant, user, Map.of("callAgentId", local("call_l", v), "smsAgentId", local("sms_l", v),
                "retellApiKey", local(seal(tenant, user, key), v)), List.of("user_profiles"), "pending");

        JsonNode view = read(tenant, user);

        assertThat(view.get("callAgentId").asText()).isEqualTo("call_p");
        assertThat(view.get("fields").get("callAgentId").get("source").asText()).isEqualTo("user_profiles");
        assertThat(view.get("smsAgentId").asText()).isEqualTo("sms_s");
        assertThat(view.get("fields").get("smsAgentId").get("source").asText()).isEqualTo("user_settings");
        assertThat(view.get("retellApiKey").asText()).isEqualTo(FieldCipher.mask(key));
        assertThat(view.get("fields").get("retellApiKey").get("source").asText()).isEqualTo("local_store");
    }

    @Test
    void aNewerClearHidesAnOlderValue() {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"callAgentId\":\"call_1\",\"smsAgentId\":\"sms_1\"}").statusCode()).isEqualTo(200);
        HttpResponse<String> cleared = put(tenant, user, "{\"callAgentId\":null}");
        assertThat(cleared.statusCode()).isEqualTo(200);

        JsonNode view = read(tenant, user);

        assertThat(view.get("callAgentId").isNull()).isTrue();
        assertThat(view.get("fields").get("callAgentId").get("version").asLong())
                .isEqualTo(json(cleared).get("version").asLong());
        assertThat(view.get("smsAgentId").asText()).isEqualTo("sms_1");
        assertThat(view.get("retellApiKey").isNull()).isTrue();
        assertThat(view.get("fields").has("retellApiKey")).isFalse();
    }
}
