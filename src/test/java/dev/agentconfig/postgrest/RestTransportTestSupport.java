package dev.agentconfig.postgrest;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;
import com.github.tomakehurst.wiremock.matching.RequestPatternBuilder;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import dev.agentconfig.json.Json;
import dev.agentconfig.testing.ConsoleCapture;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * The whole service with agentconfig.transport=rest against a WireMock stand-in for Supabase's
 * PostgREST (PostgREST itself cannot run here). The stub serves the contract's exact shapes
 * (shared/design/postgrest-contract.md): errors as {code, details, hint, message} with
 * {@code Content-Type: application/json; charset=utf-8} and v13's {@code Proxy-Status}.
 * No direct database unless a subclass configures one: nothing local but the local store.
 */
public abstract class RestTransportTestSupport extends ServiceTestSupport {
    protected static final String JSON_UTF8 = "application/json; charset=utf-8";
    protected static final String UPSERT = "/rest/v1/user_profiles";
    protected static final String RPC = "/rest/v1/rpc/update_user_api_keys";
    protected static final String AUDIT = "/rest/v1/audit_log";
    protected static final String SETTINGS = "/rest/v1/user_settings";

    // assigned in extraProperties, which runs from the superclass constructor: no field initializers
    protected WireMockServer stub;
    /** A new-style secret key (not a JWT), unique per class: searched for in logs, files and answers. */
    protected String supabaseKey;
    /** What the class printed outside log4j (which {@code logs} captures), read before surefire writes its report. */
    private ConsoleCapture console;

    @Override
    protected final Properties extraProperties() {
        if (stub == null) {
            console = ConsoleCapture.attach();
            // the stub's own reports (an unmatched request is printed with every header, the key
            // included) are the test's, not the service's output: silenced, so the leak checks below
            // judge only what the service wrote
            stub = new WireMockServer(WireMockConfiguration.options().dynamicPort().bindAddress("127.0.0.1")
                    .notifier(new SilentNotifier()));
            stub.start();
            // the key check at start counts keys through the RPC of migration V5 (before any test's stubs)
            stubKeyUsage();
            supabaseKey = "sb_secret_SUPABASETESTKEY_" + HexFormat.of().formatHex(randomBytes(12));
        }
        Properties p = new Properties();
        p.setProperty("agentconfig.transport", "rest");
        p.setProperty("agentconfig.supabase.url", "http://127.0.0.1:" + stub.port());
        p.setProperty("agentconfig.supabase.key", supabaseKey);
        p.setProperty("agentconfig.supabase.timeout", "1000ms");
        p.setProperty("agentconfig.supabase.connect-timeout", "500ms");
        p.putAll(restProperties());
        return p;
    }

    /** Per-class overrides. */
    protected Properties restProperties() {
        return new Properties();
    }

    /** A healthy PostgREST: probes answer, audit rows are taken; each test stubs what it is about. */
    @BeforeEach
    void healthyPostgrest() {
        stub.resetAll();
        stub.stubFor(get(urlPathEqualTo(UPSERT)).atPriority(10).willReturn(rows("[]")));
        stub.stubFor(get(urlPathEqualTo(SETTINGS)).atPriority(10).willReturn(rows("[]")));
        stub.stubFor(get(urlPathEqualTo("/rest/v1/audit_log")).atPriority(10).willReturn(rows("[]")));
        stub.stubFor(post(urlPathEqualTo(AUDIT)).atPriority(10).willReturn(aResponse().withStatus(201)));
        stubKeyUsage();
        resetBreakers();
    }

    /** What each key seals (migration V5's public.retell_key_usage over RPC): nothing stored. */
    protected void stubKeyUsage() {
        stub.stubFor(post(urlPathEqualTo("/rest/v1/rpc/retell_key_usage")).atPriority(10).willReturn(rows(
                "{\"user_profiles\":{},\"user_settings\":{},\"legacy_plaintext\":0,\"foreign\":0}")));
    }

    /** The key reached no log line and no file the service wrote, whatever the class did. */
    @AfterAll
    void keyNeverLeaked() {
        try {
            // the captured output, complete while the class runs (the report file under target/surefire-reports
            // is written after the class: reading it here judged an earlier run's, or nothing)
            console.detach();
            assertThat(logs.text()).as("the Supabase key appeared in the log output").doesNotContain(supabaseKey);
            assertThat(console.text()).as("the Supabase key appeared in the console output").doesNotContain(supabaseKey)
                    .doesNotContain(KEY_PREFIX);
            assertKeyNotInFiles(dataDir);
        } finally {
            stub.stop();
        }
    }

    protected void assertKeyNotInFiles(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        byte[] needle = supabaseKey.getBytes(StandardCharsets.UTF_8);
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(Files::isRegularFile).forEach(f -> {
                try {
                    assertThat(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1))
                            .as("the Supabase key was found in %s", f)
                            .doesNotContain(new String(needle, StandardCharsets.ISO_8859_1));
                } catch (IOException e) {
                    // removed while walking
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ----- PostgREST's answers ---------------------------------------------------------------------

    protected static ResponseDefinitionBuilder rows(String json) {
        return aResponse().withStatus(200).withHeader("Content-Type", JSON_UTF8).withBody(json);
    }

    /** A PostgREST error exactly as v13 sends it. Null members are sent as JSON null. */
    protected static ResponseDefinitionBuilder postgrestError(int status, String code, String details, String hint,
                                                              String message) {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("code", code);
        body.put("details", details);
        body.put("hint", hint);
        body.put("message", message);
        return aResponse().withStatus(status)
                .withHeader("Content-Type", JSON_UTF8)
                .withHeader("Proxy-Status", "PostgREST; error=" + code)
                .withBody(body.toString());
    }

    /** 201 for an upsert that inserted, with return=representation: the row (its field_versions). */
    protected static ResponseDefinitionBuilder upserted(String fieldVersions) {
        return aResponse().withStatus(201).withHeader("Content-Type", JSON_UTF8)
                .withBody("[{\"field_versions\":" + fieldVersions + "}]");
    }

    /** The settings function's jsonb result. */
    protected static ResponseDefinitionBuilder rpcDone(String fieldVersions) {
        return aResponse().withStatus(200).withHeader("Content-Type", JSON_UTF8)
                .withBody("{\"success\":true,\"field_versions\":" + fieldVersions + "}");
    }

    protected void stubUpsert(ResponseDefinitionBuilder answer) {
        stub.stubFor(post(urlPathEqualTo(UPSERT)).willReturn(answer));
    }

    protected void stubRpc(ResponseDefinitionBuilder answer) {
        stub.stubFor(post(urlPathEqualTo(RPC)).willReturn(answer));
    }

    // ----- what the service sent ---------------------------------------------------------------------

    protected List<LoggedRequest> sent(RequestPatternBuilder pattern) {
        return stub.findAll(pattern);
    }

    protected static JsonNode body(LoggedRequest r) {
        return Json.tree(r.getBodyAsString());
    }

    /** The headers every request carries: the key twice (equal: sb_secret_ keys are not JWTs), nothing of the caller's. */
    protected void assertServiceHeaders(LoggedRequest r) {
        assertThat(r.getHeader("apikey")).isEqualTo(supabaseKey);
        assertThat(r.getHeader("Authorization")).isEqualTo("Bearer " + supabaseKey);
        assertThat(r.getHeader("Accept")).isEqualTo("application/json");
        assertThat(r.containsHeader("X-Request-Id")).as("caller's request id").isFalse();
        assertThat(r.containsHeader("tenantId")).as("route header").isFalse();
        assertThat(r.containsHeader("userId")).as("route header").isFalse();
        assertThat(r.getHeaders().keys()).noneMatch(h -> h.startsWith("Camel"));
    }

    protected void assertWriteHeaders(LoggedRequest r) {
        assertServiceHeaders(r);
        assertThat(r.getHeader("Content-Type")).isEqualTo("application/json");
        assertThat(r.getHeader("Content-Profile")).isEqualTo("public");
        assertThat(r.containsHeader("Accept-Profile")).isFalse();
    }

    protected void assertReadHeaders(LoggedRequest r) {
        assertServiceHeaders(r);
        assertThat(r.getHeader("Accept-Profile")).isEqualTo("public");
        assertThat(r.containsHeader("Content-Profile")).isFalse();
        assertThat(r.containsHeader("Prefer")).isFalse();
    }

    // ----- the service's own endpoints -----------------------------------------------------------------

    protected HttpResponse<String> serviceGet(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + path))
                .header("Authorization", "Bearer " + serviceToken).GET());
    }

    protected HttpResponse<String> postSync() {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/sync"))
                .header("Authorization", "Bearer " + serviceToken).POST(HttpRequest.BodyPublishers.noBody()));
    }

    /** Every answer of the service: the key is never in it. */
    protected HttpResponse<String> checked(HttpResponse<String> r) {
        assertThat(r.body()).doesNotContain(supabaseKey);
        r.headers().map().values().forEach(v -> assertThat(String.join(",", v)).doesNotContain(supabaseKey));
        return r;
    }

    private static final class SilentNotifier implements com.github.tomakehurst.wiremock.common.Notifier {
        @Override
        public void info(String message) {
        }

        @Override
        public void error(String message) {
        }

        @Override
        public void error(String message, Throwable t) {
        }
    }
}
