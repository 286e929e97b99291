package dev.agentconfig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.json.Json;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.testing.ServiceTestSupport;
import dev.agentconfig.testing.UserJwts;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

/**
 * Nothing a caller sends besides its credential, its path and the documented body fields decides
 * who is saved or read, or how a save is treated. Every header and exchange-property name the
 * code reads or sets (collected from src/main/java and routes/, so a name added later is covered
 * too) is sent as a request header and as a query parameter, by a user on its own path and by the
 * service token: user B's rows and local-store entry never change, and no answer shows B.
 */
class CallerControlledInputTest extends ServiceTestSupport {
    private static final String SECRET = "caller-controlled-input-test-secret-0123456789abcdef";
    /** Names that were once internal switches: tested even after the code stopped using them. */
    private static final Set<String> RETIRED = Set.of("agentconfig.message");
    /** What a client legitimately sends as headers; as query parameters they must still do nothing. */
    private static final Set<String> CALLER_HEADERS = Set.of("authorization", "content-type", "content-length",
            "accept", "idempotency-key", "x-request-id");

    private final String tenantA = newTenant();
    private final UUID userA = newUser();
    private final String tenantB = newTenant();
    private final UUID userB = newUser();
    private final String tenantC = newTenant();
    private final UUID userC = newUser();
    private final String keyB = newKey();
    private boolean seeded;

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.auth.jwt-secret", SECRET);
        // hundreds of requests of one user JWT in seconds (every name the code reads, three values, two ways):
        // not what the per-user rate limit is tested with (HttpRateLimitTest), and a 429 would hide the answer
        p.setProperty("agentconfig.http.rate.per-user", "0");
        return p;
    }

    // ----- the names the code uses ------------------------------------------------------------

    private static final Pattern CONSTANT = Pattern.compile(
            "static\\s+final\\s+String\\s+(\\w+)\\s*=\\s*\"([^\"]*)\"\\s*;");
    private static final Pattern CALL = Pattern.compile("\\b(?:get|set|remove)(?:Header|Property)\\(");
    private static final Pattern LITERAL = Pattern.compile("\"([^\"]*)\"");
    private static final Pattern YAML_SIMPLE = Pattern.compile(
            "\\$\\{(?:in\\.)?(?:header|headers|exchangeProperty)[.\\[]([\\w.:-]+)");
    private static final Pattern YAML_SET = Pattern.compile(
            "-\\s*(?:setHeader|setProperty|removeHeader|removeProperty):\\s*\\n\\s*name:\\s*([\\w.:-]+)");
    private static final Pattern NAMED_CONSTANT = Pattern.compile("HEADER_\\w+|\\w*_HEADER|\\w*PROPERTY\\w*");

    /** Every header or exchange-property name src/main/java and routes/ read or write. */
    static Set<String> namesTheCodeUses() {
        Path main = Path.of("src/main/java");
        Path routes = Path.of("routes");
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> java = Files.walk(main); Stream<Path> yaml = Files.list(routes)) {
            for (Path f : Stream.concat(java.filter(p -> p.toString().endsWith(".java")),
                    yaml.filter(p -> p.toString().endsWith(".yaml"))).toList()) {
                files.put(f.toString(), Files.readString(f));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // constants: "Class.NAME" and "path#NAME" -> value
        Map<String, String> constants = new HashMap<>();
        Set<String> names = new TreeSet<>(RETIRED);
        files.forEach((path, text) -> {
            String cls = Path.of(path).getFileName().toString().replaceFirst("\\.java$", "");
            Matcher m = CONSTANT.matcher(text);
            while (m.find()) {
                constants.put(cls + "." + m.group(1), m.group(2));
                constants.put(path + "#" + m.group(1), m.group(2));
                if (NAMED_CONSTANT.matcher(m.group(1)).matches()) {
                    names.add(m.group(2));
                }
            }
        });
        files.forEach((path, text) -> {
            if (path.endsWith(".yaml")) {
                Matcher s = YAML_SIMPLE.matcher(text);
                while (s.find()) {
                    names.add(s.group(1));
                }
                Matcher n = YAML_SET.matcher(text);
                while (n.find()) {
                    names.add(n.group(1));
                }
                return;
            }
            Matcher c = CALL.matcher(text);
            while (c.find()) {
                String arg = firstArgument(text, c.end());
                Matcher literal = LITERAL.matcher(arg);
                boolean literals = false;
                while (literal.find()) { // "x", or a choice such as a ? "x" : "y"
                    names.add(literal.group(1));
                    literals = true;
                }
                if (literals) {
                    continue;
                }
                String name;
                if (arg.startsWith("Exchange.")) {
                    name = exchangeConstant(arg.substring("Exchange.".length()));
                } else if (arg.contains(".")) {
                    String[] parts = arg.split("\\.");
                    name = constants.get(parts[parts.length - 2] + "." + parts[parts.length - 1]);
                } else {
                    name = constants.get(path + "#" + arg);
                }
                if (name != null && !name.isBlank()) {
                    names.add(name);
                }
            }
        });
        return names;
    }

    /** The text of a call's first argument: up to the first comma or closing parenthesis at its own depth. */
    private static String firstArgument(String text, int from) {
        int depth = 0;
        boolean quoted = false;
        for (int i = from; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (ch == '"' && text.charAt(i - 1) != '\\') {
                quoted = !quoted;
            } else if (!quoted && ch == '(') {
                depth++;
            } else if (!quoted && ch == ')' && depth-- == 0 || !quoted && ch == ',' && depth == 0) {
                return text.substring(from, i).trim();
            }
        }
        return "";
    }

    private static String exchangeConstant(String field) {
        try {
            return (String) Exchange.class.getField(field).get(null);
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    @Test
    void theCollectedNamesCoverTheCode() {
        Set<String> names = namesTheCodeUses();
        assertThat(names)
                .contains("agentconfig.message", "tenantId", "userId", "Idempotency-Key", "agentconfig.caller",
                        "agentconfig.postgrest.reload",
                        "Content-Profile", "Accept-Profile", Exchange.HTTP_QUERY, Exchange.HTTP_RESPONSE_CODE,
                        Exchange.FILE_NAME);
        assertThat(names.size()).isGreaterThan(25);
        org.slf4j.LoggerFactory.getLogger(CallerControlledInputTest.class).info("{} names sent: {}", names.size(), names);
    }

    // ----- seeding ---------------------------------------------------------------------------------

    private String userToken() {
        return UserJwts.user(SECRET, tenantA, userA).sign();
    }

    /** B and A with known configurations; B also has a local-store entry. */
    private void seed() {
        if (seeded) {
            return;
        }
        assertThat(putAs(serviceToken, tenantB, userB, "{\"retellApiKey\":\"" + keyB
                + "\",\"callAgentId\":\"agent_B\",\"smsAgentId\":\"sms_B\"}").statusCode()).isEqualTo(200);
        assertThat(putAs(serviceToken, tenantA, userA, "{\"callAgentId\":\"agent_A\",\"smsAgentId\":\"sms_A\"}")
                .statusCode()).isEqualTo(200);
        Instant now = Instant.now();
        PendingEntry entry = new PendingEntry(1, tenantB, userB.toString(),
                new TreeMap<>(Map.of("smsAgentId", new PendingEntry.FieldEntry("sms_B_local", 1L,
                        UUID.randomUUID().toString()))),
                List.of("user_settings"), PendingEntry.QUARANTINED,
                new PendingEntry.ErrorInfo("rejected", "23514", "check violation", "user_settings", now.toString()),
                3, now.plusSeconds(3600).toString(), now.toString(), now.toString(), 1);
        try {
            Files.createDirectories(localFile(tenantB, userB).getParent());
            Files.write(localFile(tenantB, userB), Json.writeBytes(entry));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        seeded = true;
    }

    private record Snapshot(Map<String, Object> profile, Map<String, Object> settings, byte[] local) {
        boolean same(Snapshot o) {
            return profile.equals(o.profile) && settings.equals(o.settings) && java.util.Arrays.equals(local, o.local);
        }
    }

    private Snapshot victim() {
        try {
            Path f = localFile(tenantB, userB);
            return new Snapshot(profileRow(userB).orElseThrow(), settingsRow(userB).orElseThrow(),
                    Files.exists(f) ? Files.readAllBytes(f) : new byte[0]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Optional<String> callAgentOf(UUID user) {
        return profileRow(user).map(r -> json((String) r.get("encrypted_agent_config")).path("call_agent_id").asText(null));
    }

    // ----- requests ----------------------------------------------------------------------------------

    private HttpResponse<String> putAs(String token, String tenant, UUID user, String body) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(body)));
    }

    private enum Channel { HEADER, QUERY }

    /** The request, or empty when this name cannot travel as a request header from Java's client. */
    private Optional<HttpRequest.Builder> request(String method, String token, String tenant, UUID user, Channel channel,
                                                  String name, String value, String body) {
        String url = baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user;
        if (channel == Channel.QUERY) {
            url += "?" + URLEncoder.encode(name, StandardCharsets.UTF_8) + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8);
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token);
        if (body != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        if (channel == Channel.HEADER) {
            try {
                b.header(name, value);
            } catch (IllegalArgumentException restrictedOrInvalid) {
                return Optional.empty();
            }
        }
        return Optional.of(b);
    }

    private List<Channel> channels(String name) {
        // the caller's own headers are the allow-list: as headers they are what they say; as query
        // parameters they must do nothing
        return CALLER_HEADERS.contains(name.toLowerCase(Locale.ROOT)) ? List.of(Channel.QUERY) : List.of(Channel.values());
    }

    private List<String> values() {
        return List.of("true", tenantB, userB.toString());
    }

    private String describe(String who, Channel ch, String name, String value, HttpResponse<String> r) {
        return who + " " + ch + " " + name + "=" + value + " -> " + r.statusCode() + " " + r.body();
    }

    // ----- the inbox switch: the reported attack ---------------------------------------------------------

    @Test
    void theInboxSwitchSentAsHeaderOrQueryParameterDoesNotSaveForAnotherUser() {
        seed();
        Snapshot before = victim();
        String attack = "{\"tenantId\":\"" + tenantB + "\",\"userId\":\"" + userB + "\",\"retellApiKey\":\"" + newKey()
                + "\",\"callAgentId\":\"agent_attack\"}";
        List<String> answers = new ArrayList<>();
        for (Channel ch : Channel.values()) {
            HttpResponse<String> r = send(request("PUT", userToken(), tenantA, userA, ch, "agentconfig.message", "true",
                    attack).orElseThrow());
            answers.add(describe("user A", ch, "agentconfig.message", "true", r));
            assertThat(r.statusCode()).as(answers.get(answers.size() - 1)).isEqualTo(400);
            assertThat(json(r).get("detail").asText()).contains("unknown field").contains("tenantId").contains("userId");
        }
        assertThat(victim().same(before)).as("B's rows or local entry changed: %s", answers).isTrue();
        assertThat(callAgentOf(userB)).hasValue("agent_B");
    }

    // ----- every name, by a user on its own path ---------------------------------------------------------

    @Test
    void noHeaderOrQueryParameterLetsAUserSaveForAnother() {
        seed();
        Snapshot before = victim();
        List<String> failures = new ArrayList<>();
        int sent = 0;
        int marker = 0;
        for (String name : namesTheCodeUses()) {
            for (Channel ch : channels(name)) {
                // 1. a body naming B: the HTTP door knows no tenantId/userId fields
                String attack = "{\"tenantId\":\"" + tenantB + "\",\"userId\":\"" + userB
                        + "\",\"callAgentId\":\"agent_attack\"}";
                Optional<HttpRequest.Builder> req = request("PUT", userToken(), tenantA, userA, ch, name, "true", attack);
                if (req.isPresent()) {
                    HttpResponse<String> r = send(req.get());
                    sent++;
                    if (r.statusCode() != 400) {
                        failures.add(describe("user A, body naming B,", ch, name, "true", r));
                    }
                }
                // 2. a valid body: whatever the header or parameter says, A (the path) is saved
                for (String value : values()) {
                    String mark = "agent_mark_" + (++marker);
                    req = request("PUT", userToken(), tenantA, userA, ch, name, value, "{\"callAgentId\":\"" + mark + "\"}");
                    if (req.isEmpty()) {
                        continue;
                    }
                    HttpResponse<String> r = send(req.get());
                    sent++;
                    if (r.statusCode() == 400) {
                        continue; // refused outright: nothing saved, which is fine
                    }
                    if (r.statusCode() != 200 || !callAgentOf(userA).orElse("").equals(mark)) {
                        failures.add(describe("user A, own body,", ch, name, value, r) + " (A's call agent: "
                                + callAgentOf(userA).orElse(null) + ")");
                    }
                }
            }
            if (!victim().same(before)) {
                failures.add("B changed after the requests with " + name);
                before = victim();
            }
        }
        assertThat(sent).isGreaterThan(100);
        assertThat(failures).isEmpty();
        assertThat(callAgentOf(userB)).hasValue("agent_B");
    }

    // ----- every name, by the service token ---------------------------------------------------------------

    @Test
    void noHeaderOrQueryParameterRedirectsAServiceSave() {
        seed();
        Snapshot before = victim();
        List<String> failures = new ArrayList<>();
        int marker = 0;
        for (String name : namesTheCodeUses()) {
            for (Channel ch : channels(name)) {
                String attack = "{\"tenantId\":\"" + tenantB + "\",\"userId\":\"" + userB
                        + "\",\"callAgentId\":\"agent_attack\"}";
                Optional<HttpRequest.Builder> req = request("PUT", serviceToken, tenantC, userC, ch, name, "true", attack);
                if (req.isPresent()) {
                    HttpResponse<String> r = send(req.get());
                    if (r.statusCode() != 400) {
                        failures.add(describe("service, body naming B,", ch, name, "true", r));
                    }
                }
                for (String value : values()) {
                    String mark = "svc_mark_" + (++marker);
                    req = request("PUT", serviceToken, tenantC, userC, ch, name, value, "{\"callAgentId\":\"" + mark + "\"}");
                    if (req.isEmpty()) {
                        continue;
                    }
                    HttpResponse<String> r = send(req.get());
                    if (r.statusCode() == 400) {
                        continue;
                    }
                    if (r.statusCode() != 200 || !callAgentOf(userC).orElse("").equals(mark)) {
                        failures.add(describe("service, own body,", ch, name, value, r));
                    }
                }
            }
            if (!victim().same(before)) {
                failures.add("B changed after the service's requests with " + name);
                before = victim();
            }
        }
        assertThat(failures).isEmpty();
    }

    // ----- the read route --------------------------------------------------------------------------------

    @Test
    void noHeaderOrQueryParameterLetsAReadShowAnotherUser() {
        seed();
        List<String> failures = new ArrayList<>();
        for (String token : List.of(userToken(), serviceToken)) {
            String who = token.equals(serviceToken) ? "service" : "user A";
            for (String name : namesTheCodeUses()) {
                for (Channel ch : channels(name)) {
                    for (String value : values()) {
                        Optional<HttpRequest.Builder> req = request("GET", token, tenantA, userA, ch, name, value, null);
                        if (req.isEmpty()) {
                            continue;
                        }
                        HttpResponse<String> r = send(req.get());
                        if (r.statusCode() == 400) {
                            continue;
                        }
                        boolean ok = r.statusCode() == 200
                                && json(r).path("userId").asText().equals(userA.toString())
                                && json(r).path("tenantId").asText().equals(tenantA)
                                && !r.body().contains("agent_B") && !r.body().contains("sms_B") && !r.body().contains(keyB);
                        if (!ok) {
                            failures.add(describe(who + " GET", ch, name, value, r));
                        }
                    }
                }
            }
        }
        assertThat(failures).isEmpty();
    }

    // ----- the path is the identity --------------------------------------------------------------------------

    @Test
    void queryParametersAndHeadersNamedLikeThePathCannotOverrideIt() {
        seed();
        Snapshot before = victim();
        String url = baseUrl() + "/api/v1/agent-config/" + tenantA + "/" + userA;
        // the service token is not checked against the path: only the path may name the user
        for (String token : List.of(userToken(), serviceToken)) {
            HttpResponse<String> q = send(HttpRequest.newBuilder(URI.create(url + "?tenantId=" + tenantB + "&userId=" + userB))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"agent_q\"}")));
            assertThat(q.statusCode()).as(q.body()).isEqualTo(200);
            assertThat(callAgentOf(userA)).hasValue("agent_q");
            HttpResponse<String> h = send(HttpRequest.newBuilder(URI.create(url))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .header("tenantId", tenantB).header("userId", userB.toString()).header("TENANTID", tenantB)
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"agent_h\"}")));
            assertThat(h.statusCode()).as(h.body()).isEqualTo(200);
            assertThat(callAgentOf(userA)).hasValue("agent_h");
            HttpResponse<String> read = send(HttpRequest.newBuilder(URI.create(url + "?tenantId=" + tenantB + "&userId=" + userB))
                    .header("Authorization", "Bearer " + token).header("userId", userB.toString()).GET());
            assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
            assertThat(json(read).get("userId").asText()).isEqualTo(userA.toString());
        }
        assertThat(victim().same(before)).isTrue();
    }

    @Test
    void revealStillWorksForTheServiceTokenOnly() {
        seed();
        String url = baseUrl() + "/api/v1/agent-config/" + tenantB + "/" + userB + "?reveal=true";
        HttpResponse<String> svc = send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + serviceToken).GET());
        assertThat(svc.statusCode()).as(svc.body()).isEqualTo(200);
        JsonNode body = json(svc);
        assertThat(body.get("revealed").asBoolean()).isTrue();
        assertThat(body.get("retellApiKey").asText()).isEqualTo(keyB);
        // a reveal switch in a header does nothing: the key stays masked
        HttpResponse<String> header = send(HttpRequest.newBuilder(URI.create(url.replace("?reveal=true", "")))
                .header("Authorization", "Bearer " + serviceToken).header("reveal", "true")
                .header("agentconfig.reveal", "true").GET());
        assertThat(header.statusCode()).isEqualTo(200);
        assertThat(header.body()).doesNotContain(keyB);
        // a user may not reveal even its own key (403), also not with the switch as a header
        String mine = baseUrl() + "/api/v1/agent-config/" + tenantA + "/" + userA;
        HttpResponse<String> user = send(HttpRequest.newBuilder(URI.create(mine + "?reveal=true"))
                .header("Authorization", "Bearer " + userToken()).GET());
        assertThat(user.statusCode()).isEqualTo(403);
    }
}
