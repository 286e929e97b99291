package dev.agentconfig.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.UUID;

import dev.agentconfig.testing.ServiceTestSupport;
import dev.agentconfig.testing.UserJwts;
import org.junit.jupiter.api.Test;

/**
 * The browser client's side of the HTTP door, without a browser: the module is served with an ETag and
 * a 304 for a matching If-None-Match; CORS answers a listed front end's preflight and marks its answers
 * (4xx from the routes and from the server included); any other origin gets neither.
 */
class ClientModuleHttpTest extends ServiceTestSupport {
    private static final String SECRET = "client-module-http-test-secret-0123456789abcdef";
    private static final String FRONT_END = "http://front.example:5173";
    private static final String STRANGER = "https://evil.example";

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.auth.jwt-secret", SECRET);
        p.setProperty("agentconfig.http.cors-origins", FRONT_END + ", https://second.example");
        return p;
    }

    private static String source() {
        try (InputStream in = ClientModuleHttpTest.class.getResourceAsStream("/client/agent-config.js")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private HttpResponse<String> getModule(String ifNoneMatch, String query) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl() + "/client/agent-config.js" + query)).GET();
        if (ifNoneMatch != null) {
            b.header("If-None-Match", ifNoneMatch);
        }
        return send(b);
    }

    // ----- the module ----------------------------------------------------------------------------

    @Test
    void theModuleIsServedAsJavaScriptWithItsVersionAndAnETag() {
        HttpResponse<String> r = getModule(null, "");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(source());
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/javascript; charset=utf-8");
        String version = r.headers().firstValue("X-Client-Version").orElseThrow();
        assertThat(r.body()).contains("export const VERSION = '" + version + "';");
        String etag = r.headers().firstValue("ETag").orElseThrow();
        assertThat(etag).startsWith("\"" + version + "-").endsWith("\"");
        assertThat(r.headers().firstValue("Cache-Control")).hasValue(ClientModule.CACHE_CONTROL);
        // an ES module from another origin is fetched in CORS mode: public code, any origin
        assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).hasValue("*");
        assertThat(r.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(r.headers().firstValue("X-Request-Id")).isPresent();
    }

    /** Issue 21: before, HEAD answered 405 (a link checker or a proxy's probe found the module "missing"). */
    @Test
    void headIsAnsweredLikeGetWithoutABody() {
        HttpResponse<String> get = getModule(null, "");
        HttpResponse<String> head = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/client/agent-config.js"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()));
        assertThat(head.statusCode()).as(head.body()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
        assertThat(head.headers().firstValue("ETag")).isEqualTo(get.headers().firstValue("ETag"));
        assertThat(head.headers().firstValue("Content-Type")).hasValue("text/javascript; charset=utf-8");
        assertThat(head.headers().firstValue("X-Client-Version")).isEqualTo(get.headers().firstValue("X-Client-Version"));
        // with a matching validator: 304, as GET
        HttpResponse<String> notModified = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/client/agent-config.js"))
                .header("If-None-Match", get.headers().firstValue("ETag").orElseThrow())
                .method("HEAD", HttpRequest.BodyPublishers.noBody()));
        assertThat(notModified.statusCode()).isEqualTo(304);
    }

    @Test
    void aMatchingIfNoneMatchIsAnswered304WithoutABody() {
        String etag = getModule(null, "").headers().firstValue("ETag").orElseThrow();
        for (String validator : new String[] {etag, "W/" + etag, "\"other\", " + etag, "*"}) {
            HttpResponse<String> r = getModule(validator, "");
            assertThat(r.statusCode()).as(validator).isEqualTo(304);
            assertThat(r.body()).as(validator).isEmpty();
            assertThat(r.headers().firstValue("ETag")).hasValue(etag);
            assertThat(r.headers().firstValue("Cache-Control")).hasValue(ClientModule.CACHE_CONTROL);
        }
        HttpResponse<String> other = getModule("\"1.0.0-somethingelse\"", "");
        assertThat(other.statusCode()).isEqualTo(200);
        assertThat(other.body()).isEqualTo(source());
        // the validator counts only as a request header (the inbound allow-list), not as a query parameter
        HttpResponse<String> query = getModule(null, "?If-None-Match=" + java.net.URLEncoder.encode(etag,
                StandardCharsets.UTF_8));
        assertThat(query.statusCode()).isEqualTo(200);
    }

    @Test
    void theETagMatchingRules() {
        assertThat(ClientModule.matches(null, "\"a\"")).isFalse();
        assertThat(ClientModule.matches("", "\"a\"")).isFalse();
        assertThat(ClientModule.matches("\"a\"", "\"a\"")).isTrue();
        assertThat(ClientModule.matches("W/\"a\"", "\"a\"")).isTrue();
        assertThat(ClientModule.matches("\"b\" , \"a\"", "\"a\"")).isTrue();
        assertThat(ClientModule.matches("\"b\"", "\"a\"")).isFalse();
        assertThat(ClientModule.matches("a", "\"a\"")).isFalse();
    }

    // ----- CORS ------------------------------------------------------------------------------------

    private String path() {
        return "/api/v1/agent-config/" + newTenant() + "/" + UUID.randomUUID();
    }

    private HttpResponse<String> preflight(String origin, String path, String method, String headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl() + path))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", origin).header("Access-Control-Request-Method", method);
        if (headers != null) {
            b.header("Access-Control-Request-Headers", headers);
        }
        return send(b);
    }

    @Test
    void aListedFrontEndsPreflightIsAnswered() {
        for (String method : new String[] {"PUT", "GET"}) {
            HttpResponse<String> r = preflight(FRONT_END, path(), method, "authorization,content-type,idempotency-key");
            assertThat(r.statusCode()).as(method).isEqualTo(204);
            assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).hasValue(FRONT_END);
            assertThat(r.headers().firstValue("Access-Control-Allow-Methods")).hasValue("GET, PUT");
            assertThat(r.headers().firstValue("Access-Control-Allow-Headers").orElseThrow())
                    .contains("Authorization", "Content-Type", "Idempotency-Key");
            assertThat(r.headers().firstValue("Access-Control-Max-Age")).hasValue("600");
            assertThat(r.headers().firstValue("Vary").orElseThrow()).contains("Origin");
            assertThat(r.headers().firstValue("Access-Control-Allow-Credentials")).isEmpty();
        }
        // the second listed origin too, case of the scheme/host as a browser may send it
        assertThat(preflight("https://second.example", path(), "PUT", "authorization").statusCode()).isEqualTo(204);
    }

    @Test
    void anyOtherOriginsPreflightIsRefusedWithoutCorsHeaders() {
        for (String origin : new String[] {STRANGER, "null", "http://front.example:5174", "http://front.example",
                FRONT_END + "/"}) {
            HttpResponse<String> r = preflight(origin, path(), "PUT", "authorization,content-type");
            assertThat(r.statusCode()).as(origin).isEqualTo(403);
            assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).as(origin).isEmpty();
        }
        // only the user's own endpoints are offered cross-origin, not the service-token ones
        HttpResponse<String> sync = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/sync"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", FRONT_END).header("Access-Control-Request-Method", "POST"));
        assertThat(sync.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    }

    @Test
    void aListedFrontEndReadsEveryAnswerAStrangerReadsNone() {
        String tenant = newTenant();
        UUID user = newUser();
        String token = UserJwts.user(SECRET, tenant, user).sign();
        String url = baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user;
        for (String origin : new String[] {FRONT_END, STRANGER}) {
            HttpResponse<String> put = send(HttpRequest.newBuilder(URI.create(url)).header("Origin", origin)
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"agent_cors\"}")));
            HttpResponse<String> get = send(HttpRequest.newBuilder(URI.create(url)).header("Origin", origin)
                    .header("Authorization", "Bearer " + token).GET());
            HttpResponse<String> invalid = send(HttpRequest.newBuilder(URI.create(url)).header("Origin", origin)
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"not valid!\"}")));
            HttpResponse<String> noToken = send(HttpRequest.newBuilder(URI.create(url)).header("Origin", origin).GET());
            // answered by the HTTP server before any route: body over the limit, unknown path
            HttpResponse<String> tooLarge = send(HttpRequest.newBuilder(URI.create(url)).header("Origin", origin)
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"" + "x".repeat(40_000) + "\"}")));
            HttpResponse<String> unknown = send(HttpRequest.newBuilder(URI.create(url + "/nothing-here"))
                    .header("Origin", origin).GET());
            HttpResponse<String> wrongMethod = send(HttpRequest.newBuilder(URI.create(url)).header("Origin", origin)
                    .header("Authorization", "Bearer " + token).DELETE());
            // CORS is the browser's rule: the service answers whoever calls, the token decides
            assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
            assertThat(get.statusCode()).isEqualTo(200);
            assertThat(invalid.statusCode()).isEqualTo(400);
            assertThat(noToken.statusCode()).isEqualTo(401);
            assertThat(tooLarge.statusCode()).isEqualTo(413);
            assertThat(unknown.statusCode()).isEqualTo(404);
            assertThat(wrongMethod.statusCode()).isEqualTo(405);
            for (HttpResponse<String> r : java.util.List.of(put, get, invalid, noToken, tooLarge, unknown, wrongMethod)) {
                String what = origin + " " + r.request().method() + " -> " + r.statusCode();
                if (origin.equals(FRONT_END)) {
                    assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).as(what).hasValue(FRONT_END);
                    assertThat(r.headers().firstValue("Access-Control-Expose-Headers").orElse("")).as(what)
                            .contains("X-Request-Id");
                } else {
                    assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).as(what).isEmpty();
                }
                assertThat(r.headers().allValues("Vary")).as(what).contains("Origin");
            }
        }
    }

    @Test
    void theAllowListIsExplicit() {
        assertThat(CrossOrigin.parse("")).isEmpty();
        assertThat(CrossOrigin.parse(" https://App.Example.com , http://localhost:5173 "))
                .containsExactly("https://app.example.com", "http://localhost:5173");
        for (String bad : new String[] {"*", "null", "https://app.example.com/", "app.example.com",
                "https://app.example.com/path", "ftp://x.example"}) {
            assertThatThrownBy(() -> CrossOrigin.parse(bad)).as(bad).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("agentconfig.http.cors-origins");
        }
    }
}
