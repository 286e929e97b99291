package dev.agentconfig.client;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

import dev.agentconfig.api.HttpGuard;
import dev.agentconfig.api.Problem;
import dev.agentconfig.json.Json;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CORS for a front end on another origin (agentconfig.http.cors-origins; empty = same origin only).
 *
 * <p>It runs on the HTTP server's router before any Camel route, and reads the request's Origin and
 * Access-Control-Request-* headers there: they never become message headers (api/HttpHeaderFilter
 * keeps them out), so no route can be steered by them. Being in front of everything, it also marks
 * the answers Camel never sees (404, 405, 413 from the server), so a listed front end reads every 4xx
 * instead of taking it for a network failure (which its client would queue and retry).
 *
 * <p>Only the user's own endpoints ({@code /api/v1/agent-config/...}) are offered cross-origin, with
 * GET and PUT and the headers the client sends. A preflight from a listed origin is answered 204; from
 * any other origin 403 (no CORS headers: the browser refuses the request). A request that is not a
 * preflight goes on in every case: CORS is the browser's rule, the bearer token is the service's.
 */
public final class CrossOrigin implements Handler<RoutingContext> {
    private static final Logger LOG = LoggerFactory.getLogger(CrossOrigin.class);
    static final String PATH_PREFIX = "/api/v1/agent-config/";
    static final String ALLOW_METHODS = "GET, PUT";
    static final String ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-Id, traceparent";
    static final String EXPOSE_HEADERS = "X-Request-Id, X-Trace-Id, Retry-After";
    static final String MAX_AGE = "600";
    /** scheme://host[:port], nothing after it (an origin as a browser sends it). */
    private static final Pattern ORIGIN = Pattern.compile("https?://[A-Za-z0-9.\\-]+(:[0-9]{1,5})?|https?://\\[[0-9A-Fa-f:.]+](:[0-9]{1,5})?");

    private final Set<String> origins;

    CrossOrigin(Set<String> origins) {
        this.origins = Set.copyOf(origins);
    }

    /**
     * The allow-list from its configuration text: origins separated by commas or spaces, each
     * exactly scheme://host[:port]. "*" and "null" are refused (an explicit list, never everyone).
     */
    static Set<String> parse(String text) {
        Set<String> out = new LinkedHashSet<>();
        if (text == null) {
            return out;
        }
        for (String item : text.split("[,\\s]+")) {
            if (item.isEmpty()) {
                continue;
            }
            String origin = item.toLowerCase(Locale.ROOT);
            if (origin.equals("*") || origin.equals("null")) {
                throw new IllegalStateException("agentconfig.http.cors-origins lists origins one by one; '" + item
                        + "' is not allowed");
            }
            if (!ORIGIN.matcher(origin).matches()) {
                throw new IllegalStateException("agentconfig.http.cors-origins: '" + item
                        + "' is not an origin (scheme://host[:port], no path, no trailing slash)");
            }
            out.add(origin);
        }
        return out;
    }

    Set<String> origins() {
        return origins;
    }

    @Override
    public void handle(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        String origin = request.getHeader("Origin");
        String path = request.path();
        if (origin == null || path == null || !path.startsWith(PATH_PREFIX)) {
            ctx.next();
            return;
        }
        boolean allowed = origins.contains(origin.toLowerCase(Locale.ROOT));
        HttpServerResponse response = ctx.response();
        if (request.method() == HttpMethod.OPTIONS && request.getHeader("Access-Control-Request-Method") != null) {
            response.putHeader("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
            if (!allowed) {
                LOG.info("Refused a CORS preflight from origin {} (not in agentconfig.http.cors-origins)",
                        Problem.sanitize(origin));
                refuse(ctx);
                return;
            }
            response.setStatusCode(204)
                    .putHeader("Access-Control-Allow-Origin", origin)
                    .putHeader("Access-Control-Allow-Methods", ALLOW_METHODS)
                    .putHeader("Access-Control-Allow-Headers", ALLOW_HEADERS)
                    .putHeader("Access-Control-Max-Age", MAX_AGE)
                    .end();
            return;
        }
        response.putHeader("Vary", "Origin");
        if (allowed) {
            response.putHeader("Access-Control-Allow-Origin", origin);
            response.putHeader("Access-Control-Expose-Headers", EXPOSE_HEADERS);
        }
        ctx.next();
    }

    private static void refuse(RoutingContext ctx) {
        String requestId = UUID.randomUUID().toString();
        Problem problem = Problem.forbidden("this origin may not call the service from a browser; "
                + "the service's operator lists front ends in agentconfig.http.cors-origins");
        ctx.response().setStatusCode(403)
                .putHeader("Content-Type", "application/problem+json")
                .putHeader(HttpGuard.REQUEST_ID, requestId)
                .putHeader("Cache-Control", "no-store")
                .end(Json.write(problem.body(requestId)));
    }

    static List<String> describe(Set<String> origins) {
        return Arrays.asList(origins.toArray(String[]::new));
    }
}
