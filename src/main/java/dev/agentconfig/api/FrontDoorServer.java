package dev.agentconfig.api;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.apache.camel.component.platform.http.PlatformHttpConstants;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServer;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServerConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's HTTP server: Camel's platform-http server on Vert.x (the same router, routes and
 * body handling), started with the limits Camel's own server has no setting for
 * (agentconfig.http.*, {@link HttpServerSettings}):
 * <ul>
 * <li>an idle timeout (no byte either way), and per connection a timer from its opening, or from the
 * previous answer, until a request's headers are complete (a client sending one header byte at a
 * time keeps a connection "busy" for the idle timeout forever), then until its body is complete;</li>
 * <li>a maximum of open connections;</li>
 * <li>a request rate per client address, before any route (the service token has its own limit,
 * checked with the user limits in {@link HttpGuard#authenticate});</li>
 * <li>what the HTTP codec refuses (a request line or headers too long, a malformed request) is
 * problem+json; every answer carries {@code X-Content-Type-Options: nosniff}.</li>
 * </ul>
 * Every refusal here goes to {@link RefusalLog}: one line per interval at most.
 *
 * <p>It replaces Camel Main's {@code camel.server} (which creates its Vert.x server with default
 * options and no way to add a connection handler before it listens).
 */
public final class FrontDoorServer extends VertxPlatformHttpServer {
    private static final Logger LOG = LoggerFactory.getLogger(FrontDoorServer.class);
    public static final String NOSNIFF = "X-Content-Type-Options";

    private final VertxPlatformHttpServerConfiguration config;
    private final HttpServerSettings limits;
    private final int maxBodyBytes;
    private final RateLimits rates;
    private final RefusalLog refusals;
    private final Predicate<String> carriesServiceToken;
    private final AtomicInteger open = new AtomicInteger();
    private final Map<HttpConnection, Tracked> tracked = new ConcurrentHashMap<>();
    private final long tickMillis;

    private Vertx vertx;
    private boolean ownVertx;
    private Router topLevel;
    private volatile HttpServer server;

    public FrontDoorServer(String host, int port, int maxBodyBytes, HttpServerSettings limits, RateLimits rates,
                           RefusalLog refusals, Predicate<String> carriesServiceToken) {
        this(configuration(host, port), maxBodyBytes, limits, rates, refusals, carriesServiceToken);
    }

    private FrontDoorServer(VertxPlatformHttpServerConfiguration config, int maxBodyBytes, HttpServerSettings limits,
                            RateLimits rates, RefusalLog refusals, Predicate<String> carriesServiceToken) {
        super(config);
        this.config = config;
        this.maxBodyBytes = maxBodyBytes;
        this.limits = limits;
        this.rates = rates;
        this.refusals = refusals;
        this.carriesServiceToken = carriesServiceToken;
        long shortest = Math.min(limits.headersTimeout().toMillis(), limits.bodyTimeout().toMillis());
        this.tickMillis = Math.max(20, Math.min(1000, shortest / 4));
    }

    private static VertxPlatformHttpServerConfiguration configuration(String host, int port) {
        VertxPlatformHttpServerConfiguration c = new VertxPlatformHttpServerConfiguration();
        c.setBindHost(host);
        c.setBindPort(port);
        c.setServerType(VertxPlatformHttpRouter.SERVER_TYPE_SERVER);
        return c;
    }

    /** The router the server hands every request to (Camel's router is mounted on it): its error pages. */
    public Router topLevelRouter() {
        return topLevel;
    }

    /** Connections open right now. */
    public int openConnections() {
        return open.get();
    }

    @Override
    public HttpServer getServer() {
        return server;
    }

    @Override
    public Vertx getVertx() {
        return vertx;
    }

    @Override
    public int getPort() {
        HttpServer s = server;
        return s != null ? s.actualPort() : config.getBindPort();
    }

    /**
     * Vert.x and the routers exist from the moment the service is added to the context (before it
     * starts): the routes, CORS and the error pages find the router by name in their start-up.
     */
    @Override
    protected void doInit() throws Exception {
        initializeServer();
    }

    @Override
    protected void initializeServer() {
        if (topLevel != null) {
            return;
        }
        vertx = lookupVertx();
        if (vertx == null) {
            vertx = createVertxInstance();
            ownVertx = true;
        }
        topLevel = Router.router(vertx);
        Router camelRouter = Router.router(vertx);
        topLevel.route("/*").subRouter(camelRouter);
        // no file uploads: nothing a caller sends is written to disk by the server
        BodyHandler body = BodyHandler.create(false).setBodyLimit(maxBodyBytes);
        Handler<RoutingContext> bodyHandler = ctx -> {
            ctx.request().resume();
            body.handle(ctx);
        };
        String name = VertxPlatformHttpRouter.getRouterNameFromPort(config.getBindPort());
        getCamelContext().getRegistry().bind(name,
                new VertxPlatformHttpRouter(this, vertx, camelRouter, name, VertxPlatformHttpRouter.SERVER_TYPE_SERVER) {
                    @Override
                    public Handler<RoutingContext> bodyHandler() {
                        return bodyHandler;
                    }
                });
    }

    @Override
    protected void startServer() throws Exception {
        HttpServerOptions options = new HttpServerOptions()
                // HTTP/1.1 only: with h2c detection on, Vert.x holds a new connection (and calls no
                // connection handler) until it has seen enough bytes to tell HTTP/1 from HTTP/2, which a
                // client sending one byte at a time delays at will
                .setHttp2ClearTextEnabled(false)
                .setIdleTimeout((int) limits.idleTimeout().toMillis())
                .setIdleTimeoutUnit(TimeUnit.MILLISECONDS);
        HttpServer created = vertx.createHttpServer(options);
        created.connectionHandler(this::opened);
        created.invalidRequestHandler(this::invalid);
        created.requestHandler(this::request);
        server = created.listen(config.getBindPort(), config.getBindHost())
                .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        LOG.info("HTTP server listening on {}:{} (idle timeout {}, headers within {}, body within {}, at most {} connections)",
                config.getBindHost(), server.actualPort(), limits.idleTimeout(), limits.headersTimeout(),
                limits.bodyTimeout(), limits.maxConnections());
    }

    @Override
    protected void stopServer() {
        HttpServer s = server;
        if (s == null) {
            return;
        }
        try {
            getCamelContext().removeComponent(PlatformHttpConstants.PLATFORM_HTTP_COMPONENT_NAME);
            s.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("The HTTP server did not close cleanly: {}", e.toString());
        } finally {
            server = null;
        }
    }

    @Override
    protected void stopVertx() {
        if (vertx == null || !ownVertx) {
            return;
        }
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("Vert.x did not close cleanly: {}", e.toString());
        } finally {
            vertx = null;
            ownVertx = false;
        }
    }

    // ----- per connection ----------------------------------------------------------------------

    private void opened(HttpConnection connection) {
        int now = open.incrementAndGet();
        connection.closeHandler(v -> {
            open.decrementAndGet();
            Tracked t = tracked.remove(connection);
            if (t != null) {
                t.cancel();
            }
        });
        if (now > limits.maxConnections()) {
            refusals.refused(503, "more than " + limits.maxConnections() + " connections open", null, null);
            connection.close();
            return;
        }
        Tracked t = new Tracked(connection);
        tracked.put(connection, t);
        t.awaitHeaders();
    }

    private void request(HttpServerRequest request) {
        Tracked t = tracked.get(request.connection());
        if (t != null) {
            t.started(request);
        }
        request.response().putHeader(NOSNIFF, "nosniff");
        try {
            // decoded here once, so that a malformed escape is a 400 and not a failure deep in route matching
            request.params();
        } catch (IllegalArgumentException e) {
            refusals.refused(400, "malformed query string", request.method().name(), request.uri());
            HttpErrorPages.write(request, Problem.badRequest("the query string could not be decoded (a malformed %-escape?)"));
            return;
        }
        if (limits.perAddress() > 0 && !carriesServiceToken.test(request.getHeader("Authorization"))) {
            long retryAfter = rates.acquire("address " + clientAddress(request), limits.perAddress());
            if (retryAfter > 0) {
                refusals.refused(429, "rate limit per address", request.method().name(), request.uri());
                HttpErrorPages.write(request, Problem.tooManyRequests(retryAfter, "from this address"));
                return;
            }
        }
        topLevel.handle(request);
    }

    /** The client's address: the TCP peer, or (agentconfig.http.trust-forwarded-for) what the proxy in front added. */
    String clientAddress(HttpServerRequest request) {
        if (limits.trustForwardedFor()) {
            List<String> forwarded = request.headers().getAll("X-Forwarded-For");
            if (!forwarded.isEmpty()) {
                String last = forwarded.get(forwarded.size() - 1);
                String hop = last.substring(last.lastIndexOf(',') + 1).trim();
                if (!hop.isEmpty()) {
                    return Problem.sanitize(hop);
                }
            }
        }
        return request.remoteAddress() == null ? "-" : request.remoteAddress().hostAddress();
    }

    /** What the HTTP codec could not accept: the request line or the headers too long, or not HTTP. */
    private void invalid(HttpServerRequest request) {
        Throwable cause = request.decoderResult().cause();
        Problem problem;
        if (cause instanceof TooLongHttpLineException) {
            problem = new Problem(414, "uri-too-long", "Request line too long",
                    "the request line (method, path and query) is longer than the server accepts", null);
        } else if (cause instanceof TooLongHttpHeaderException) {
            problem = new Problem(431, "headers-too-large", "Request headers too large",
                    "the request headers are larger than the server accepts", null);
        } else {
            problem = Problem.badRequest("the request could not be read as HTTP");
        }
        refusals.refused(problem.status(), problem.title(), request.method() == null ? null : request.method().name(),
                request.uri());
        request.response().putHeader("Connection", "close");
        HttpErrorPages.write(request, problem);
    }

    /**
     * One connection's deadlines, on its own event loop: its headers are due by a time, then its
     * body; once the answer went out, the next request's headers are due again.
     */
    private final class Tracked {
        private final HttpConnection connection;
        private HttpServerRequest current;
        private long deadline;
        private long timer = -1;

        Tracked(HttpConnection connection) {
            this.connection = connection;
        }

        void awaitHeaders() {
            current = null;
            deadline = System.nanoTime() + limits.headersTimeout().toNanos();
            schedule(limits.headersTimeout().toMillis());
        }

        void started(HttpServerRequest request) {
            current = request;
            deadline = System.nanoTime() + limits.bodyTimeout().toNanos();
            schedule(Math.min(tickMillis, limits.bodyTimeout().toMillis()));
        }

        void cancel() {
            if (timer >= 0) {
                vertx.cancelTimer(timer);
                timer = -1;
            }
        }

        private void schedule(long millis) {
            cancel();
            timer = vertx.setTimer(Math.max(1, millis), id -> check());
        }

        private void check() {
            timer = -1;
            long left = deadline - System.nanoTime();
            if (current == null) {
                if (left <= 0) {
                    cut("request headers not complete within " + limits.headersTimeout(), null, null);
                } else {
                    schedule(TimeUnit.NANOSECONDS.toMillis(left) + 1);
                }
            } else if (!current.isEnded()) {
                if (left <= 0) {
                    if (!current.response().headWritten()) {
                        current.response().putHeader("Connection", "close");
                        HttpErrorPages.write(current, new Problem(408, "request-timeout", "Request not complete in time",
                                "the request body did not arrive within " + limits.bodyTimeout(), null));
                    }
                    cut("request body not complete within " + limits.bodyTimeout(), current.method().name(), current.uri());
                } else {
                    schedule(Math.min(tickMillis, TimeUnit.NANOSECONDS.toMillis(left) + 1));
                }
            } else if (current.response().ended() || current.response().closed()) {
                awaitHeaders();
            } else {
                // the body is in and the service is answering: its own pace is not the client's doing
                schedule(tickMillis);
            }
        }

        private void cut(String reason, String method, String target) {
            refusals.refused(408, reason, method, target);
            LOG.debug("Closing a connection from {}: {}", connection.remoteAddress(), reason);
            connection.close();
        }
    }
}
