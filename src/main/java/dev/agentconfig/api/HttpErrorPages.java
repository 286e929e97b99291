package dev.agentconfig.api;

import java.util.UUID;

import dev.agentconfig.json.Json;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The answers the HTTP server gives before any route runs (unknown path, wrong method, body
 * over the server's hard limit, a framework failure) are problem+json too, never an HTML or
 * plain-text framework page.
 *
 * <p>Camel's router ({@link VertxPlatformHttpRouter#lookup}, the supported hook) sees every request
 * (it is mounted at the server's root path): it turns requests away while the service stops, and
 * its failure handler answers what fails inside routing (the body limit's 413, a handler's 500).
 * What the server decides when no route matched (404, 405) or before routing (a request it cannot
 * read, 400) is its top-level router's: Camel exposes no hook for that router, so it is taken from
 * the server's public request handler ({@code HttpServer.requestHandler()}), no reflection.
 */
public final class HttpErrorPages {
    private static final Logger LOG = LoggerFactory.getLogger(HttpErrorPages.class);

    private HttpErrorPages() {
    }

    public static void install(CamelContext context, int port, int maxBodyBytes, ShutdownGate gate) {
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
                        null)).handle(ctx);
            } else {
                ctx.next();
            }
        });
        // a failure of another status is left to the server (none is known to happen)
        router.route().order(Integer.MIN_VALUE).failureHandler(ctx -> {
            int status = ctx.statusCode() == -1 ? 500 : ctx.statusCode();
            if (status == 413 || status == 400 || status == 500) {
                page(problem(status, maxBodyBytes)).handle(ctx);
            } else {
                ctx.next();
            }
        });
        Router topLevel = topLevelRouter(router);
        if (topLevel == null) {
            LOG.warn("The HTTP server's top-level router is not reachable: unknown paths and methods answer in plain text");
            return;
        }
        for (int status : new int[] {400, 404, 405, 413, 500}) {
            topLevel.errorHandler(status, page(problem(status, maxBodyBytes)));
        }
    }

    /** The router the server hands every request to (Camel's router is mounted on it). */
    private static Router topLevelRouter(VertxPlatformHttpRouter router) {
        HttpServer server = router.getServer() == null ? null : router.getServer().getServer();
        Handler<HttpServerRequest> handler = server == null ? null : server.requestHandler();
        return handler instanceof Router top ? top : null;
    }

    private static Problem problem(int status, int maxBodyBytes) {
        return switch (status) {
            case 400 -> Problem.badRequest("the request could not be read");
            case 404 -> new Problem(404, "not-found", "Not found",
                    "no such resource; the API lives under /api/v1/agent-config/{tenantId}/{userId}", null);
            case 405 -> new Problem(405, "method-not-allowed", "Method not allowed",
                    "this resource does not accept that method", null);
            case 413 -> Problem.tooLarge(maxBodyBytes);
            default -> new Problem(500, "internal-error", "Internal error", "the request failed unexpectedly", null);
        };
    }

    private static Handler<RoutingContext> page(Problem problem) {
        return ctx -> {
            if (ctx.response().ended() || ctx.response().headWritten()) {
                return;
            }
            String requestId = ctx.request().getHeader(HttpGuard.REQUEST_ID);
            if (requestId == null || !requestId.matches("[A-Za-z0-9._:-]{1,64}")) {
                requestId = UUID.randomUUID().toString();
            }
            if (problem.status() == 500 && ctx.failure() != null) {
                LOG.error("HTTP server failure (request {})", requestId, ctx.failure());
            }
            ctx.response()
                    .setStatusCode(problem.status())
                    .putHeader("Content-Type", "application/problem+json")
                    .putHeader(HttpGuard.REQUEST_ID, requestId)
                    .putHeader("Cache-Control", "no-store")
                    .end(Json.write(problem.body(requestId)));
        };
    }
}
