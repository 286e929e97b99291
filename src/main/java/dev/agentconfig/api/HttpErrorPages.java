package dev.agentconfig.api;

import java.util.UUID;

import dev.agentconfig.json.Json;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The answers the HTTP server gives before any route runs (unknown path, wrong method, body
 * over the server's hard limit, a framework failure) are problem+json too, never an HTML or
 * plain-text framework page.
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
        io.vertx.ext.web.Router main = mainRouter(router);
        // first of all routes: once the service is stopping, new requests are turned away
        (main == null ? router : main).route().order(Integer.MIN_VALUE).handler(ctx -> {
            if (gate.closing()) {
                ctx.response().putHeader("Retry-After", "1").putHeader("Connection", "close");
                page(new Problem(503, "shutting-down", "The service is stopping",
                        "the service is shutting down; retry in a moment (another instance, or this one after its restart)",
                        null)).handle(ctx);
            } else {
                ctx.next();
            }
        });
        for (io.vertx.ext.web.Router r : main == null ? java.util.List.of(router) : java.util.List.of(router, main)) {
            installOn(r, maxBodyBytes);
        }
    }

    /**
     * The server's top-level router answers unmatched paths and methods and body-limit failures;
     * Camel exposes only the sub-router, so the top-level one is read from its private field.
     */
    private static io.vertx.ext.web.Router mainRouter(VertxPlatformHttpRouter router) {
        try {
            java.lang.reflect.Field f = router.getServer().getClass().getDeclaredField("router");
            f.setAccessible(true);
            return (io.vertx.ext.web.Router) f.get(router.getServer());
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warn("Cannot reach the HTTP server's top-level router ({}): unmatched paths answer in plain text", e.toString());
            return null;
        }
    }

    private static void installOn(io.vertx.ext.web.Router router, int maxBodyBytes) {
        router.errorHandler(404, page(new Problem(404, "not-found", "Not found",
                "no such resource; the API lives under /api/v1/agent-config/{tenantId}/{userId}", null)));
        router.errorHandler(405, page(new Problem(405, "method-not-allowed", "Method not allowed",
                "this resource does not accept that method", null)));
        router.errorHandler(413, page(Problem.tooLarge(maxBodyBytes)));
        router.errorHandler(400, page(Problem.badRequest("the request could not be read")));
        router.errorHandler(500, page(new Problem(500, "internal-error", "Internal error",
                "the request failed unexpectedly", null)));
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
