package dev.agentconfig.save;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * A save may carry editedAt, the moment of the edit (an offline browser, a message delivered late): its
 * versions come from it, so an edit made an hour ago and delivered now cannot overwrite a newer edit made
 * meanwhile; a time in the future beyond the allowed skew is refused.
 */
class EditedAtTest extends ServiceTestSupport {

    private static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000L;
    }

    private static String agentConfig(Map<String, Object> row, String column) {
        return json(String.valueOf(row.get(column))).toString();
    }

    @Test
    void theVersionsComeFromTheEditsOwnTime() {
        String tenant = newTenant();
        UUID user = newUser();
        Instant edited = Instant.parse("2026-11-30T08:15:30.123456Z");
        HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"offline_edit\",\"editedAt\":\"" + edited + "\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("status").asText()).isEqualTo("saved");
        assertThat(json(r).get("version").asLong()).isEqualTo(micros(edited));
        JsonNode versions = json(String.valueOf(profileRow(user).orElseThrow().get("field_versions")));
        assertThat(versions.get("callAgentId").asLong()).isEqualTo(micros(edited));
        JsonNode settingsVersions = json(String.valueOf(settingsRow(user).orElseThrow().get("field_versions")));
        assertThat(settingsVersions.get("callAgentId").asLong()).isEqualTo(micros(edited));
    }

    @Test
    void anOldOfflineEditDeliveredLateDoesNotOverwriteANewerSave() {
        String tenant = newTenant();
        UUID user = newUser();
        Instant anHourAgo = Instant.now().minus(Duration.ofHours(1));
        HttpResponse<String> newer = put(tenant, user, "{\"callAgentId\":\"made_on_the_phone_just_now\"}");
        assertThat(newer.statusCode()).isEqualTo(200);

        HttpResponse<String> late = put(tenant, user,
                "{\"callAgentId\":\"made_offline_an_hour_ago\",\"smsAgentId\":\"sms_offline\",\"editedAt\":\""
                        + anHourAgo + "\"}");
        assertThat(late.statusCode()).as(late.body()).isEqualTo(200);
        // the edit's callAgentId lost to the newer save; its smsAgentId, which nothing newer held, landed
        assertThat(json(late).get("status").asText()).isEqualTo("stale");
        for (Map<String, Object> row : new Map[] {profileRow(user).orElseThrow(), settingsRow(user).orElseThrow()}) {
            String config = agentConfig(row, row.containsKey("encrypted_agent_config") ? "encrypted_agent_config"
                    : "retell_config");
            assertThat(config).contains("made_on_the_phone_just_now").doesNotContain("made_offline_an_hour_ago")
                    .contains("sms_offline");
        }
        JsonNode read = json(send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(baseUrl()
                + "/api/v1/agent-config/" + tenant + "/" + user)).header("Authorization", "Bearer " + serviceToken)));
        assertThat(read.get("callAgentId").asText()).isEqualTo("made_on_the_phone_just_now");
        assertThat(read.get("smsAgentId").asText()).isEqualTo("sms_offline");
    }

    @Test
    void aTimeInTheFutureBeyondTheSkewIsRefusedAndNothingIsWritten() {
        String tenant = newTenant();
        UUID user = newUser();
        Instant future = Instant.now().plus(Duration.ofMinutes(10));
        HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"from_the_future\",\"editedAt\":\"" + future + "\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(json(r).get("detail").asText()).contains("editedAt").contains("future");
        assertThat(profileRow(user)).isEmpty();
        assertThat(settingsRow(user)).isEmpty();
        assertThat(localEntry(tenant, user)).isEmpty();

        // within the skew (a device clock a few seconds ahead) it is taken
        HttpResponse<String> slightlyAhead = put(tenant, user, "{\"callAgentId\":\"a_bit_ahead\",\"editedAt\":\""
                + Instant.now().plusSeconds(5) + "\"}");
        assertThat(slightlyAhead.statusCode()).as(slightlyAhead.body()).isEqualTo(200);
        // and a save made right after it on this instance still comes after it
        HttpResponse<String> next = put(tenant, user, "{\"callAgentId\":\"right_after\"}");
        assertThat(json(next).get("status").asText()).isEqualTo("saved");
        assertThat(json(next).get("version").asLong()).isGreaterThan(json(slightlyAhead).get("version").asLong());
    }

    @Test
    void editedAtMustBeAnRfc3339DateTimeWithAnOffset() {
        String tenant = newTenant();
        UUID user = newUser();
        for (String bad : new String[] {"\"yesterday\"", "\"2026-11-30T08:15:30\"", "1764490530", "{}", "\"\""}) {
            HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"c\",\"editedAt\":" + bad + "}");
            assertThat(r.statusCode()).as(bad + " " + r.body()).isEqualTo(400);
            assertThat(json(r).get("errors").get(0).get("field").asText()).isEqualTo("editedAt");
        }
        assertThat(profileRow(user)).isEmpty();
        // editedAt alone is not a save
        HttpResponse<String> nothing = put(tenant, user, "{\"editedAt\":\"" + Instant.now() + "\"}");
        assertThat(nothing.statusCode()).isEqualTo(400);
    }
}
