package dev.agentconfig.api;

import java.util.UUID;
import java.util.regex.Pattern;

import dev.agentconfig.json.Json;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The answers the HTTP server gives before any route runs (unknown path, wrong method, body
 * over the server's hard limit, a query string that cannot be decoded, a framework failure) are
 * problem+json too, never an HTML or plain-text framework page; each is noted in {@link RefusalLog}
 * (one line per interval at most, without the query string).
 *
 * <p>Camel's router ({@link VertxPlatformHttpRouter#lookup}, the supported hook) sees every request
 * (it is mounted at the server's root path): it turns requests away while the service stops, and
 * its failure handler answers what fails inside routing (the body limit's 413, a handler's 500).
 * What the server decides when no route matched (404, 405) or before routing (a request it cannot
 * read, 400) is its top-level router's, which {@link FrontDoorServer} exposes.
 */
public final class HttpErrorPages {
    private static final Logger LOG = LoggerFactory.getLogger(HttpErrorPages.class);
    private static final Pattern SANE_REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");

    private HttpErrorPages() {
    }

    public static void install(CamelContext context, int port, int maxBodyBytes, ShutdownGate gate, RefusalLog refusals) {
        VertxPlatformHttpRouter router = VertxPlatformHttpRouter.lookup(context,
                VertxPlatformHttpRouter.getRouterNameFromPort(port));
        if (router == null) {
            LOG.warn("No platform-http router found: framework error pages stay as they are");
            return;
        }
        // first of all routes: once the service is stopping, new requests are turned away
        router.route().order(Integer.MIN_VALUE).handler(ctx -> {
            if (gate.closing()) {
                ctx.response().putHeader("Retry-After", "1").putHeader("Connection", "close");
                page(new Problem(503, "shutting-down", "The service is stopping",
                        "the service is shutting down; retry in a moment (another instance, or this one after its restart)",
                        null), null).handle(ctx);
            } else {
                ctx.next();
            }
        });
        // a failure of another status is left to the server (none is known to happen)
        router.route().order(Integer.MIN_VALUE).failureHandler(ctx -> {
            int status = ctx.statusCode() == -1 ? 500 : ctx.statusCode();
            if (clientGone(ctx)) {
                // Vert.x's body handler fails a request whose client left with status 200 ("not an error")
                goneQuietly(ctx);
            } else if (status == 413 || status == 400 || status == 500) {
                page(problem(status, maxBodyBytes), refusals).handle(ctx);
            } else {
                ctx.next();
            }
        });
        Router topLevel = router.getServer() instanceof FrontDoorServer server ? server.topLevelRouter() : null;
        if (topLevel == null) {
            LOG.warn("The HTTP server's top-level router is not reachable: unknown paths and methods answer in plain text");
            return;
        }
        // a failure no failure handler took (a client gone while its body was read ends up here) is the
        // router's own unhandled failure: both routers answer (or stay quiet) through the same pages
        for (int status : new int[] {400, 404, 405, 413, 500}) {
            topLevel.errorHandler(status, page(problem(status, maxBodyBytes), refusals));
            router.errorHandler(status, page(problem(status, maxBodyBytes), refusals));
        }
    }

    private static Problem problem(int status, int maxBodyBytes) {
        return switch (status) {
            case 400 -> Problem.badRequest("the request could not be read (a malformed query string or path?)");
            case 404 -> new Problem(404, "not-found", "Not found",
                    "no such resource; the API lives under /api/v1/agent-config/{tenantId}/{userId}", null);
            case 405 -> new Problem(405, "method-not-allowed", "Method not allowed",
                    "this resource does not accept that method", null);
            case 413 -> Problem.tooLarge(maxBodyBytes);
            default -> new Problem(500, "internal-error", "Internal error", "the request failed unexpectedly", null);
        };
    }

    /** Whether a failure only means that the client went away mid-request (nothing to answer, nothing wrong here). */
    static boolean clientGone(RoutingContext ctx) {
        Throwable failure = ctx.failure();
        if (failure instanceof HttpClosedException || ctx.response().closed()) {
            return true;
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof HttpClosedException || "Connection was closed".equals(t.getMessage())) {
                return true;
            }
        }
        return false;
    }

    private static void goneQuietly(RoutingContext ctx) {
        LOG.debug("The client went away mid-request ({} {}): {}", ctx.request().method(),
                RefusalLog.pathOf(ctx.request().uri()), String.valueOf(ctx.failure()));
    }

    private static Handler<RoutingContext> page(Problem problem, RefusalLog refusals) {
        return ctx -> {
            if (problem.status() == 500 && clientGone(ctx)) {
                goneQuietly(ctx);
                return;
            }
            if (ctx.response().ended() || ctx.response().headWritten()) {
                return;
            }
            if (problem.status() == 500 && ctx.failure() != null) {
                LOG.error("HTTP server failure (request {})", requestId(ctx.request()), ctx.failure());
            } else if (refusals != null) {
                refusals.refused(problem.status(), problem.title(), ctx.request().method().name(), ctx.request().uri());
            }
            write(ctx.request(), problem);
        };
    }

    private static String requestId(HttpServerRequest request) {
        String requestId = request.getHeader(HttpGuard.REQUEST_ID);
        return requestId == null || !SANE_REQUEST_ID.matcher(requestId).matches() ? UUID.randomUUID().toString() : requestId;
    }

    /** Answers a request with a problem (and Retry-After for a 429), unless its answer already started. */
    static void write(HttpServerRequest request, Problem problem) {
        HttpServerResponse response = request.response();
        if (response.ended() || response.headWritten() || response.closed()) {
            return;
        }
        String requestId = requestId(request);
        response.setStatusCode(problem.status())
                .putHeader("Content-Type", "application/problem+json")
                .putHeader(HttpGuard.REQUEST_ID, requestId)
                .putHeader("Cache-Control", "no-store")
                .putHeader(FrontDoorServer.NOSNIFF, "nosniff");
        problem.retryAfter().ifPresent(s -> response.putHeader("Retry-After", String.valueOf(s)));
        response.end(Json.write(problem.body(requestId)));
    }
}
