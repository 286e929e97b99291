package dev.agentconfig.inbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/** Message-driven saves: JSON files dropped into <data-dir>/inbox/. */
class InboxRouteTest extends ServiceTestSupport {

    private Path inbox() {
        return dataDir.resolve("inbox");
    }

    private void drop(String name, String content) throws Exception {
        Path tmp = dataDir.resolve(name + ".partial");
        Files.writeString(tmp, content);
        Files.move(tmp, inbox().resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void aDroppedMessageIsSavedAndLeavesAReceiptWithoutTheKey() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        drop("save-1.json", "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user + "\",\"retellApiKey\":\"" + key
                + "\",\"callAgentId\":\"agent_from_inbox\"}");

        Path receipt = inbox().resolve(".done/save-1.json");
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(receipt) && !Files.exists(inbox().resolve("save-1.json")));

        assertThat(json((String) profileRow(user).orElseThrow().get("encrypted_agent_config")).get("call_agent_id").asText())
                .isEqualTo("agent_from_inbox");
        assertThat(settingsRow(user)).isPresent();
        JsonNode r = json(Files.readString(receipt));
        assertThat(r.get("outcome").get("status").asText()).isEqualTo("saved");
        assertThat(r.get("message").get("retellApiKey").asText()).contains("…").doesNotContain(key);
        assertThat(Files.getPosixFilePermissions(receipt)).hasSize(2);
        assertNotInDataDir(key);
        assertThat(logs.text()).doesNotContain(key);
    }

    @Test
    void aBadMessageMovesToErrorWithTheReasonBesideIt() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        drop("bad-1.json", "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user + "\",\"callAgentID\":\"typo\"}");
        drop("bad-2.json", "this is not json");

        Path reason1 = inbox().resolve(".error/bad-1.json.reason.txt");
        Path reason2 = inbox().resolve(".error/bad-2.json.reason.txt");
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(reason1) && Files.exists(reason2));

        assertThat(Files.readString(reason1)).startsWith("400").contains("unknown field").contains("callAgentID");
        assertThat(Files.readString(reason2)).startsWith("400").contains("not valid JSON");
        assertThat(inbox().resolve(".error/bad-1.json")).exists();
        assertThat(inbox().resolve("bad-1.json")).doesNotExist();
        assertThat(profileRow(user)).isEmpty();
        assertThat(localEntry(tenant, user)).isEmpty();
    }

    @Test
    void aRefusedMessageKeepsNoPlaintextKeyInTheErrorDirectory() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        String misplaced = newKey();
        // refused (400: unknown fields), with the key in its field and another one under a typo
        drop("refused-key.json", "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user + "\",\"retellApiKey\":\""
                + key + "\",\"retellApiKEY\":\"" + misplaced + "\",\"callAgentID\":\"typo\"}");
        // not even JSON: the whole file may be a key
        String raw = "retellApiKey=" + newKey();
        drop("refused-raw.json", raw);

        Path error = inbox().resolve(".error");
        Path reason1 = error.resolve("refused-key.json.reason.txt");
        Path reason2 = error.resolve("refused-raw.json.reason.txt");
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(reason1) && Files.exists(reason2));

        // the refused message is kept for an operator, its key redacted
        JsonNode kept = json(Files.readString(error.resolve("refused-key.json")));
        assertThat(kept.get("tenantId").asText()).isEqualTo(tenant);
        // (compared without printing: a failure message must not carry a key either)
        assertThat(kept.get("retellApiKey").asText().equals(dev.agentconfig.crypto.FieldCipher.mask(key)))
                .as("retellApiKey is kept as its mask").isTrue();
        // unknown fields are not kept at all, name and value (the reason says which one was refused)
        assertThat(kept.has("retellApiKEY")).isFalse();
        assertThat(kept.has("callAgentID")).isFalse();
        assertThat(Files.readString(reason1)).startsWith("400").contains("unknown field")
                .contains("retellApiKey redacted");
        // of the one that is not JSON, only its size and a hash
        assertThat(error.resolve("refused-raw.json")).doesNotExist();
        String sha256 = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(raw.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertThat(Files.readString(reason2)).startsWith("400").contains("not valid JSON")
                .contains("content not kept").contains(raw.length() + " bytes").contains("sha256 " + sha256);

        for (String secret : new String[] {key, misplaced, raw}) {
            try (var files = Files.walk(inbox())) {
                files.filter(Files::isRegularFile).forEach(f -> {
                    try {
                        assertThat(Files.readString(f).contains(secret)).as("plaintext in %s", f).isFalse();
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            }
            assertThat(logs.text().contains(secret)).as("plaintext in the log").isFalse();
        }
    }

    @Test
    void aMessageThatCannotBeMadeDurableStaysInTheInbox() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        Path store = dataDir.resolve("local-store");
        Files.createDirectories(store);
        Files.writeString(store.resolve(tenant), "blocks the tenant directory");
        stopDatabase();
        try {
            drop("wait-1.json", "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user + "\",\"smsAgentId\":\"s1\"}");
            // the inbox tried it (an audited 503) and left the file where it was
            await().atMost(Duration.ofSeconds(20)).until(() -> logs.text().contains("cannot be written"));
            assertThat(inbox().resolve("wait-1.json")).exists();
            assertThat(inbox().resolve(".error/wait-1.json")).doesNotExist();
        } finally {
            Files.delete(store.resolve(tenant));
            startDatabase();
            resetBreakers();
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(inbox().resolve(".done/wait-1.json")));
        // saved at once, or (when the inbox tried it again before the breakers closed) parked: then a sync
        // pass (scheduled passes are off in tests) takes it to the database
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(baseUrl() + "/api/v1/sync"))
                    .header("Authorization", "Bearer " + serviceToken)
                    .POST(java.net.http.HttpRequest.BodyPublishers.noBody()));
            return settingsRow(user).isPresent();
        });
        assertThat(json((String) settingsRow(user).orElseThrow().get("retell_config")).get("sms_agent_id").asText())
                .isEqualTo("s1");
    }

    /**
     * A file's name never steers where anything is written. On Linux Camel's file component reads a
     * backslash as a path separator, so a message named {@code ..\..\..\x.json} could aim its
     * receipt outside the inbox: the file consumer does not pick such a file up at all (it stays in
     * the inbox, unprocessed), and nothing is written outside the inbox's own folders.
     */
    @Test
    void aFileNameCannotSteerWhereAnythingIsWritten() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        String escape = "..\\..\\..\\escape-" + UUID.randomUUID() + ".json";
        String escapeBad = "..\\..\\..\\escape-bad-" + UUID.randomUUID() + ".json";
        drop(escape, "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user + "\",\"smsAgentId\":\"s_name\"}");
        drop(escapeBad, "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user + "\",\"unknown\":\"x\"}");
        // two ordinary messages after them: their receipts prove the inbox was polled past the odd names
        for (String name : new String[] {"after-escape-1.json", "after-escape-2.json"}) {
            drop(name, "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + newUser() + "\",\"smsAgentId\":\"s_ok\"}");
            await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(inbox().resolve(".done").resolve(name)));
        }
        for (String name : new String[] {escape, escapeBad}) {
            String last = name.substring(name.lastIndexOf('\\') + 1);
            for (Path dir : new Path[] {dataDir.getParent(), dataDir, inbox(), inbox().resolve(".done"),
                    inbox().resolve(".error")}) {
                assertThat(dir.resolve(last)).doesNotExist();
                assertThat(dir.resolve(last + ".reason.txt")).doesNotExist();
            }
        }
        try (var walk = Files.walk(dataDir)) {
            assertThat(walk.filter(f -> f.getFileName().toString().contains("escape-"))
                    .filter(f -> !f.getParent().equals(inbox()) && !f.getParent().equals(inbox().resolve(".done")))
                    .map(Path::toString).toList()).isEmpty();
        }
        assertThat(inbox().resolve(escape)).exists();
        assertThat(profileRow(user)).isEmpty();
    }

    // ----- issue 19: symbolic links, control characters in names, what a refused copy keeps ---------------

    @Test
    void aRefusedCopyKeepsOnlyWhatAnOperatorNeeds() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        drop("refused-values.json", "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user
                + "\",\"callAgentId\":\"agent_private_call_1234\",\"smsAgentId\":\"agent_private_sms_5678\","
                + "\"editedAt\":\"2024-05-01T10:11:12Z\",\"myPrivateNote\":\"call me at 555-0100\"}");

        Path reason = inbox().resolve(".error/refused-values.json.reason.txt");
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(reason));

        String copyText = Files.readString(inbox().resolve(".error/refused-values.json"));
        JsonNode kept = json(copyText);
        assertThat(kept.get("tenantId").asText()).isEqualTo(tenant);
        assertThat(kept.get("userId").asText()).isEqualTo(user.toString());
        assertThat(kept.get("callAgentId").asText()).contains("…").isNotEqualTo("agent_private_call_1234");
        assertThat(kept.get("smsAgentId").asText()).contains("…");
        assertThat(kept.get("editedAt").asText()).contains("…");
        assertThat(kept.has("myPrivateNote")).isFalse();
        assertThat(copyText).doesNotContain("agent_private_call_1234").doesNotContain("agent_private_sms_5678")
                .doesNotContain("2024-05-01T10:11:12Z").doesNotContain("myPrivateNote").doesNotContain("555-0100");
        // which field was wrong, and why
        assertThat(Files.readString(reason)).startsWith("400").contains("unknown field").contains("myPrivateNote")
                .contains("1 other field not kept");
        assertThat(profileRow(user)).isEmpty();
    }

    @Test
    void aSymbolicLinkIsRefusedAndNeverFollowed() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        // a valid message elsewhere, and a file that must never be read through the inbox
        Path elsewhere = dataDir.resolve("elsewhere-" + UUID.randomUUID() + ".json");
        Files.writeString(elsewhere, "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user
                + "\",\"callAgentId\":\"through_a_link\"}");
        Path secret = dataDir.resolve("secret-" + UUID.randomUUID());
        String secretText = "root:x:0:0:" + UUID.randomUUID();
        Files.writeString(secret, secretText);
        Files.createSymbolicLink(inbox().resolve("link-to-message.json"), elsewhere);
        Files.createSymbolicLink(inbox().resolve("link-to-secret.json"), secret);

        Path reason1 = inbox().resolve(".error/link-to-message.json.reason.txt");
        Path reason2 = inbox().resolve(".error/link-to-secret.json.reason.txt");
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(reason1) && Files.exists(reason2));

        // before: the linked message was saved, and the linked secret's size and hash were written down
        assertThat(profileRow(user)).isEmpty();
        String sha256 = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(secretText.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        for (Path reason : new Path[] {reason1, reason2}) {
            assertThat(Files.readString(reason)).startsWith("400").contains("symbolic link").contains("not followed")
                    .doesNotContain("sha256").doesNotContain(sha256).doesNotContain("bytes");
        }
        assertThat(inbox().resolve(".error/link-to-message.json")).doesNotExist();
        assertThat(inbox().resolve(".error/link-to-secret.json")).doesNotExist();
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(inbox().resolve("link-to-secret.json"),
                java.nio.file.LinkOption.NOFOLLOW_LINKS));
        // the targets are untouched
        assertThat(Files.readString(secret)).isEqualTo(secretText);
        assertThat(Files.readString(elsewhere)).contains("through_a_link");
    }

    @Test
    void aFileNameWithAControlCharacterIsRefusedVisibly() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        drop("line\nbreak.json", "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user
                + "\",\"callAgentId\":\"c_newline\"}");

        // before: never picked up, never saved, no trace but the file itself
        Path reason = inbox().resolve(".error/line%0Abreak.json.reason.txt");
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(reason));

        assertThat(Files.readString(reason)).startsWith("400").contains("control characters")
                .contains("line%0Abreak.json");
        JsonNode kept = json(Files.readString(inbox().resolve(".error/line%0Abreak.json")));
        assertThat(kept.get("userId").asText()).isEqualTo(user.toString());
        assertThat(kept.get("callAgentId").asText()).doesNotContain("c_newline");
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(inbox().resolve("line\nbreak.json")));
        assertThat(profileRow(user)).isEmpty();
        assertThat(logs.text()).doesNotContain("line\nbreak.json");
    }
}
