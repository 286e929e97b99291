package dev.agentconfig.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

import dev.agentconfig.json.Json;
import dev.agentconfig.observe.Tracing;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The HTTP front door's checks and answers: who is calling, what they sent, and how every
 * answer (success or problem+json) leaves the service. Internal headers never leak out.
 */
public final class HttpGuard {
    private static final Logger LOG = LoggerFactory.getLogger(HttpGuard.class);
    /** Property: the {@code Warning} header of the answer (a read that answers last-known values). */
    public static final String RESPONSE_WARNING = "agentconfig.http.warning";
    public static final String REQUEST_ID = "X-Request-Id";
    /** The answer's header (and exchange property) naming the request's trace, when tracing is on. */
    public static final String TRACE_ID = "X-Trace-Id";
    private static final java.util.regex.Pattern SANE_REQUEST_ID = java.util.regex.Pattern.compile("[A-Za-z0-9._:-]{1,64}");
    public static final String CALLER_PROPERTY = "agentconfig.caller";
    /** For a user JWT: the verified subject and tenant. */
    public static final String SUBJECT_PROPERTY = "agentconfig.caller.subject";
    public static final String TENANT_PROPERTY = "agentconfig.caller.tenant";

    private final byte[] serviceToken;
    private final int maxBodyBytes;
    private final UserTokens userTokens;
    private final RateLimits rates;
    private final HttpServerSettings limits;

    public HttpGuard(String serviceToken, int maxBodyBytes, UserTokens userTokens) {
        this(serviceToken, maxBodyBytes, userTokens, null, null);
    }

    /** With request rate limits per caller (the service token; a user JWT's tenant and subject). */
    public HttpGuard(String serviceToken, int maxBodyBytes, UserTokens userTokens, RateLimits rates, HttpServerSettings limits) {
        this.serviceToken = serviceToken.getBytes(StandardCharsets.UTF_8);
        this.maxBodyBytes = maxBodyBytes;
        this.userTokens = userTokens;
        this.rates = rates;
        this.limits = limits;
    }

    /** Whether an Authorization header carries the service token (compared in constant time). */
    public boolean carriesServiceToken(String authorization) {
        if (authorization == null || authorization.length() <= 7 || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        return MessageDigest.isEqual(authorization.substring(7).trim().getBytes(StandardCharsets.UTF_8), serviceToken);
    }

    /** A caller's request rate: keyed on who the credential proved it is, nothing the caller merely claims. */
    private void limitRate(String key, int limit, String whose) {
        if (rates == null) {
            return;
        }
        long retryAfter = rates.acquire(key, limit);
        if (retryAfter > 0) {
            LOG.debug("Refused a request (429): rate limit {}", whose);
            throw Problem.tooManyRequests(retryAfter, whose);
        }
    }

    /** Accepts the caller's X-Request-Id when it is sane, otherwise makes one. */
    public void begin(Exchange exchange) {
        String id = exchange.getMessage().getHeader(REQUEST_ID, String.class);
        if (id == null || !SANE_REQUEST_ID.matcher(id).matches()) {
            id = newRequestId();
        }
        exchange.setProperty(REQUEST_ID, id);
        MDC.put("requestId", id);
        String traceId = Tracing.traceId(); // tracing on: the request's trace (the caller's, from its traceparent)
        if (traceId != null) {
            exchange.setProperty(TRACE_ID, traceId);
        }
    }

    /**
     * A random (version 4) UUID for a request that brought no id of its own. The id names a request in logs
     * and answers and guards nothing, so it comes from the thread's fast generator instead of
     * {@link UUID#randomUUID()}'s SecureRandom, which every request would otherwise pay for (a lock and a
     * read of the kernel's random source).
     */
    static String newRequestId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long msb = (r.nextLong() & ~0xF000L) | 0x4000L;
        long lsb = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(msb, lsb).toString();
    }

    /**
     * Who is calling: the service token (any tenant and user) or a Supabase user JWT, which may
     * only act on its own configuration: the path's {tenantId}/{userId} must be its tenant claim
     * and its sub (403 otherwise), and it cannot use endpoints without them (sync, retry, metrics).
     * The path's identity, so checked, becomes the exchange property {@link PathIdentity#PROPERTY}:
     * the only source of "whose configuration" for every route behind the front door.
     */
    public void authenticate(Exchange exchange) {
        String header = exchange.getMessage().getHeader("Authorization", String.class);
        if (header == null || header.isBlank()) {
            throw refuse("no Authorization header", "send Authorization: Bearer <token>");
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7) || header.length() <= 7) {
            throw refuse("not a Bearer header", "the Authorization header must be 'Bearer <token>'");
        }
        String token = header.substring(7).trim();
        if (MessageDigest.isEqual(token.getBytes(StandardCharsets.UTF_8), serviceToken)) {
            PathIdentity.fromPathParameters(exchange).ifPresent(p -> exchange.setProperty(PathIdentity.PROPERTY, p));
            exchange.setProperty(CALLER_PROPERTY, Caller.SERVICE);
            limitRate("service", limits == null ? 0 : limits.perService(), "for the service token");
            return;
        }
        if (userTokens == null || !UserTokens.looksLikeJwt(token)) {
            throw refuse("unknown bearer token", "the bearer token is not valid");
        }
        UserTokens.Result result = userTokens.verify(token, java.time.Instant.now());
        if (result instanceof UserTokens.Refused refused) {
            throw refuse("user JWT refused: " + refused.reason(), "the bearer token is not valid: " + refused.reason());
        }
        UserTokens.Valid user = (UserTokens.Valid) result;
        PathIdentity path = PathIdentity.fromPathParameters(exchange).orElse(null);
        if (path == null) {
            LOG.info("Refused a user JWT on a service-only endpoint");
            throw Problem.forbidden("this endpoint needs the service token");
        }
        if (!user.subject().equalsIgnoreCase(path.userId()) || !user.tenant().equals(path.tenantId())) {
            LOG.info("Refused a user JWT: it is for another {}",
                    user.subject().equalsIgnoreCase(path.userId()) ? "tenant" : "user");
            throw Problem.forbidden("a user token can only read and save its own configuration");
        }
        exchange.setProperty(PathIdentity.PROPERTY, path);
        exchange.setProperty(CALLER_PROPERTY, Caller.USER);
        exchange.setProperty(SUBJECT_PROPERTY, user.subject());
        exchange.setProperty(TENANT_PROPERTY, user.tenant());
        limitRate("user " + user.tenant() + "/" + user.subject().toLowerCase(Locale.ROOT),
                limits == null ? 0 : limits.perUser(), "for this user");
    }

    /** The checked identity of the path as a valid tenant and user (400 otherwise): the body of what follows. */
    public dev.agentconfig.core.UserKey pathUser(Exchange exchange) {
        return PathIdentity.of(exchange).user();
    }

    /** For endpoints only the service token may use, whatever their path. */
    public void requireService(Exchange exchange) {
        if (exchange.getProperty(CALLER_PROPERTY) != Caller.SERVICE) {
            throw Problem.forbidden("this endpoint needs the service token");
        }
    }

    private static Problem refuse(String logReason, String detail) {
        LOG.info("Refused a request (401): {}", logReason);
        return Problem.unauthorized(detail);
    }

    /**
     * Whether this caller may see a plaintext API key ({@code ?reveal=true}): the service token
     * only. Any other kind of caller (end users' JWTs, issue 5) must never reveal.
     */
    public boolean mayReveal(Exchange exchange) {
        return exchange.getProperty(CALLER_PROPERTY) == Caller.SERVICE;
    }

    /** The body of a write: application/json and at most the configured size. */
    public void requireJsonBody(Exchange exchange) {
        String contentType = exchange.getMessage().getHeader(Exchange.CONTENT_TYPE, String.class);
        if (contentType == null || !isJson(contentType)) {
            throw Problem.unsupportedMediaType(contentType);
        }
        Long declared = exchange.getMessage().getHeader("Content-Length", Long.class);
        if (declared != null && declared > maxBodyBytes) {
            throw Problem.tooLarge(maxBodyBytes);
        }
        byte[] body = exchange.getMessage().getBody(byte[].class);
        if (body != null && body.length > maxBodyBytes) {
            throw Problem.tooLarge(maxBodyBytes);
        }
        exchange.getMessage().setBody(body);
    }

    private static boolean isJson(String contentType) {
        String[] parts = contentType.split(";");
        if (!parts[0].trim().toLowerCase(Locale.ROOT).equals("application/json")) {
            return false;
        }
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim().toLowerCase(Locale.ROOT);
            if (p.startsWith("charset=") && !p.equals("charset=utf-8") && !p.equals("charset=\"utf-8\"")) {
                return false;
            }
        }
        return true;
    }

    /** A JSON answer: the body (a Map or record) as JSON, the status already set or 200. */
    public void respondJson(Exchange exchange) {
        Object body = exchange.getMessage().getBody();
        Integer status = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        clearHeaders(exchange);
        String warning = exchange.getProperty(RESPONSE_WARNING, String.class);
        if (warning != null) {
            exchange.getMessage().setHeader("Warning", warning);
        }
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, status == null ? 200 : status);
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        exchange.getMessage().setBody(body instanceof String s ? s : Json.write(body));
        MDC.remove("requestId");
    }

    /** A text answer (metrics): the body and Content-Type the previous step set. */
    public void respondText(Exchange exchange) {
        Object body = exchange.getMessage().getBody();
        String contentType = exchange.getMessage().getHeader(Exchange.CONTENT_TYPE, String.class);
        Integer status = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        clearHeaders(exchange);
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, status == null ? 200 : status);
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, contentType == null ? "text/plain; charset=utf-8" : contentType);
        exchange.getMessage().setBody(body);
        MDC.remove("requestId");
    }

    /**
     * Any exception that reaches the front door becomes problem+json; unknown ones a bare 500 (route configuration
     * api-errors' onException). The writer is {@link Problem#answer}, the one every problem answer goes through.
     */
    public void problem(Exchange exchange) {
        Problem.from(exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class),
                exchange.getProperty(REQUEST_ID, String.class)).answer(exchange);
    }

    /** Every answer's headers: the request's cleared, its id (and trace id) and Cache-Control: no-store set. */
    static void clearHeaders(Exchange exchange) {
        String requestId = exchange.getProperty(REQUEST_ID, String.class);
        exchange.getMessage().removeHeaders("*");
        if (requestId != null) {
            exchange.getMessage().setHeader(REQUEST_ID, requestId);
        }
        String traceId = exchange.getProperty(TRACE_ID, String.class);
        if (traceId != null) {
            exchange.getMessage().setHeader(TRACE_ID, traceId);
        }
        exchange.getMessage().setHeader("Cache-Control", "no-store");
    }


    /** Who made a request: the service token, or a Supabase user (its own configuration only). */
    public enum Caller {
        SERVICE,
        USER
    }
}
