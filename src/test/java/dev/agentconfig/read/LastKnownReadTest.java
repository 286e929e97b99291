package dev.agentconfig.read;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.UserKey;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 21: a read while the database is out of reach never answers {@code null} for a value it cannot see.
 * What the tables last held comes from this server's last-known copy (sealed, on disk), marked as such and
 * with its age; what no place knows is left out and listed as unknown.
 */
class LastKnownReadTest extends ReadTestSupport {

    @BeforeEach
    void healthy() {
        if (!embedded().running()) {
            startDatabase();
        }
        resetBreakers();
    }

    @Test
    void theDatabaseStoppedEveryFieldIsAnsweredFromTheFreshestPlace() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        assertThat(put(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"call_db\","
                + "\"smsAgentId\":\"sms_db\"}").statusCode()).isEqualTo(200);
        Path copy = dataDir.resolve("last-known").resolve(tenant).resolve(user + ".json");
        // written with the save, the key sealed: the plaintext never reaches the file
        assertThat(copy).exists();
        assertThat(Files.readString(copy)).doesNotContain(key).contains("call_db");

        stopDatabase();
        try {
            assertThat(put(tenant, user, "{\"smsAgentId\":\"sms_outage\"}").statusCode()).isEqualTo(202);

            HttpResponse<String> r = getConfig(tenant, user);

            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode view = json(r);
            // before: "retellApiKey":null,"callAgentId":null; now the values the tables last held
            assertThat(view.get("retellApiKey").asText()).isEqualTo("key_…" + key.substring(key.length() - 4));
            assertThat(view.get("callAgentId").asText()).isEqualTo("call_db");
            assertThat(view.get("smsAgentId").asText()).isEqualTo("sms_outage");
            JsonNode fields = view.get("fields");
            assertThat(fields.get("retellApiKey").get("source").asText()).isEqualTo("last_known");
            assertThat(fields.get("callAgentId").get("source").asText()).isEqualTo("last_known");
            assertThat(fields.get("callAgentId").get("asOf").asText()).isNotEmpty();
            assertThat(fields.get("smsAgentId").get("source").asText()).isEqualTo("local_store");
            assertThat(view.get("complete").asBoolean()).isFalse();
            assertThat(view.get("unknown")).isEmpty();
            assertThat(view.get("asOf").asText()).isEqualTo(fields.get("callAgentId").get("asOf").asText());
            assertThat(view.get("sources").get("last_known").get("status").asText()).isEqualTo("ok");
            assertThat(view.get("sources").get("user_profiles").get("status").asText()).isEqualTo("error");
            assertThat(r.headers().firstValue("Warning")).hasValue("110 - \"Response is Stale\"");
        } finally {
            startDatabase();
        }
    }

    @Test
    void aFieldNoPlaceKnowsIsAbsentAndListedNeverNull() {
        String tenant = newTenant();
        UUID user = newUser();
        // the tables hold the user, but this server never saw them (no save, no read through it)
        insertProfile(tenant, user, null, "{\"call_agent_id\":\"call_unseen\"}", "{\"callAgentId\":1}");
        stopDatabase();
        try {
            // before: 503 for a user with nothing pending; it still is when no place this server has knows it
            HttpResponse<String> unseen = getConfig(tenant, user);
            assertThat(unseen.statusCode()).as(unseen.body()).isEqualTo(503);

            assertThat(put(tenant, user, "{\"smsAgentId\":\"sms_outage\"}").statusCode()).isEqualTo(202);
            HttpResponse<String> r = getConfig(tenant, user);

            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode view = json(r);
            // before: "retellApiKey":null,"callAgentId":null (null means cleared); now absent and listed
            assertThat(view.has("retellApiKey")).as(r.body()).isFalse();
            assertThat(view.has("callAgentId")).as(r.body()).isFalse();
            assertThat(view.get("smsAgentId").asText()).isEqualTo("sms_outage");
            List<String> unknown = new ArrayList<>();
            view.get("unknown").forEach(n -> unknown.add(n.asText()));
            assertThat(unknown).containsExactly("retellApiKey", "callAgentId");
            assertThat(view.get("complete").asBoolean()).isFalse();
            assertThat(r.headers().firstValue("Warning")).isEmpty();
        } finally {
            startDatabase();
        }
    }

    @Test
    void aReadRefreshesTheCopyOnlyWhenAValueChangedAndItSurvivesARestart() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        // a user this server first sees through a read: the read writes the copy
        insertProfile(tenant, user, null, "{\"call_agent_id\":\"call_1\"}", "{\"callAgentId\":1}");
        assertThat(read(tenant, user).get("complete").asBoolean()).isTrue();
        Path copy = dataDir.resolve("last-known").resolve(tenant).resolve(user + ".json");
        assertThat(copy).exists();
        FileTime written = FileTime.fromMillis(0);
        Files.setLastModifiedTime(copy, written);

        read(tenant, user);
        read(tenant, user);
        // nothing changed: no write (the mtime set above stays)
        assertThat(Files.getLastModifiedTime(copy)).isEqualTo(written);

        update("UPDATE public.user_profiles SET field_versions = CAST(? AS jsonb), encrypted_agent_config = CAST(? AS jsonb)"
                + " WHERE user_id = ?", "{\"callAgentId\":2}", "{\"call_agent_id\":\"call_2\"}", user);
        assertThat(read(tenant, user).get("callAgentId").asText()).isEqualTo("call_2");
        assertThat(Files.getLastModifiedTime(copy)).isNotEqualTo(written);

        // another server on the same data directory (a restart) knows the copy
        LastKnownCopies restarted = new LastKnownCopies(dataDir.resolve("last-known"), cipher(),
                new KeyReader(cipher()), 10);
        LocationReading reading = restarted.reading(new UserKey(tenant, user)).orElseThrow();
        assertThat(reading.field(Field.CALL_AGENT_ID).orElseThrow().value()).isEqualTo("call_2");
    }

    @Test
    void theCopiesAreBoundedTheOldestDropped() throws Exception {
        Path dir = Files.createTempDirectory(dataDir, "bounded");
        LastKnownCopies copies = new LastKnownCopies(dir, cipher(), new KeyReader(cipher()), 2);
        List<UserKey> users = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            UserKey k = new UserKey("acme", UUID.randomUUID());
            users.add(k);
            copies.confirm(k, Map.of(Field.CALL_AGENT_ID, new FieldValue(
                    Field.CALL_AGENT_ID, "call_" + i, i + 1, null, Source.USER_PROFILES, false, null)));
        }
        assertThat(copies.size()).isEqualTo(2);
        assertThat(copies.reading(users.get(0))).isEmpty();
        assertThat(dir.resolve("acme").resolve(users.get(0).userId() + ".json")).doesNotExist();
        assertThat(copies.reading(users.get(2))).isPresent();
    }
}
