package dev.agentconfig.api;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

import dev.agentconfig.json.Json;
import dev.agentconfig.save.Refusal;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * An error answer (RFC 9457 problem+json). Thrown anywhere in a route, it becomes the HTTP
 * answer; its detail is written for the caller and never holds a secret or a stack trace.
 * The one problem writer is {@link #answer}: the api-errors onException (api/HttpGuard#problem) and a door that
 * answers its own refusals (api/HttpSaves#refused) both go through {@link #from} and {@link #answer}.
 */
public final class Problem extends RuntimeException {
    private static final Logger LOG = LoggerFactory.getLogger(Problem.class);
    private final int status;
    private final String type;
    private final String title;
    private final transient Map<String, Object> extensions;

    public Problem(int status, String type, String title, String detail, Map<String, Object> extensions) {
        super(detail, null, false, false);
        this.status = status;
        this.type = type;
        this.title = title;
        this.extensions = extensions == null ? Map.of() : extensions;
    }

    public static Problem badRequest(String detail, List<Map<String, String>> errors) {
        return new Problem(400, "validation-failed", "The request is not valid", detail,
                errors == null || errors.isEmpty() ? null : Map.of("errors", errors));
    }

    /** How the HTTP door says a refusal every door shares (save/Refusal). */
    public static Problem of(Refusal r) {
        List<Map<String, String>> errors = r.errors().stream()
                .map(e -> Map.of("field", e.field(), "message", e.message())).toList();
        return new Problem(r.status(), r.type(), r.title(), r.detail(), errors.isEmpty() ? null : Map.of("errors", errors));
    }

    public static Problem badRequest(String detail) {
        return badRequest(detail, null);
    }

    public static Problem unauthorized(String detail) {
        return new Problem(401, "unauthorized", "Authentication required", detail, null);
    }

    public static Problem forbidden(String detail) {
        return new Problem(403, "forbidden", "Not allowed", detail, null);
    }

    public static Problem notFound(String detail) {
        return new Problem(404, "not-found", "Not found", detail, null);
    }

    public static Problem tenantConflict(String detail) {
        return new Problem(409, "tenant-conflict", "The user belongs to another tenant", detail, null);
    }

    public static Problem idempotencyConflict(String detail) {
        return new Problem(409, "idempotency-key-reused", "Idempotency-Key reused with another request", detail, null);
    }

    public static Problem tooLarge(int limit) {
        return new Problem(413, "payload-too-large", "Request body too large",
                "the request body is larger than " + limit + " bytes", Map.of("limit", limit));
    }

    public static Problem unsupportedMediaType(String got) {
        return new Problem(415, "unsupported-media-type", "Unsupported media type",
                "the request body must be application/json" + (got == null ? " (no Content-Type was sent)"
                        : ", not " + sanitize(got)), null);
    }

    /** 429: a rate limit; {@code retryAfter} (seconds) also goes out as the Retry-After header. */
    public static Problem tooManyRequests(long retryAfter, String whose) {
        return new Problem(429, "too-many-requests", "Too many requests",
                "too many requests " + whose + "; retry in " + retryAfter + " s", Map.of("retryAfter", retryAfter));
    }

    /** The seconds a 429 asks the caller to wait (its Retry-After header), if it is one. */
    public OptionalLong retryAfter() {
        return extensions.get("retryAfter") instanceof Long seconds ? OptionalLong.of(seconds) : OptionalLong.empty();
    }

    public static Problem localStoreUnavailable(String detail) {
        return new Problem(503, "local-store-unavailable", "The save could not be made durable", detail, null);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String title() {
        return title;
    }

    public String detail() {
        return getMessage();
    }

    /**
     * What an error that reaches an HTTP door becomes: a Problem as it is, a refusal every door shares (invalid
     * input, tenant conflict, local store unavailable, ...) as that refusal, anything else a bare 500 (logged with
     * the request id; the caller gets no detail of it).
     */
    public static Problem from(Throwable error, String requestId) {
        if (error instanceof Problem p) {
            return p;
        }
        Refusal refusal = Refusal.of(error);
        if (refusal.status() != 500) {
            return of(refusal);
        }
        LOG.error("Unexpected failure answering a request", error);
        return new Problem(500, "internal-error", "Internal error",
                "the request failed unexpectedly; see the service log for request id " + requestId, null);
    }

    /**
     * The one problem writer: this problem becomes the exchange's HTTP answer (status, application/problem+json,
     * WWW-Authenticate on 401, Retry-After on 429; the request's other headers cleared, as every answer's).
     */
    public void answer(Exchange exchange) {
        String requestId = exchange.getProperty(HttpGuard.REQUEST_ID, String.class);
        HttpGuard.clearHeaders(exchange);
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/problem+json");
        if (status == 401) {
            exchange.getMessage().setHeader("WWW-Authenticate", "Bearer");
        }
        retryAfter().ifPresent(seconds -> exchange.getMessage().setHeader("Retry-After", String.valueOf(seconds)));
        exchange.getMessage().setBody(Json.write(body(requestId)));
        MDC.remove("requestId");
    }

    public Map<String, Object> body(String requestId) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", "https://agent-config-sync.dev/problems/" + type);
        body.put("title", title);
        body.put("status", status);
        body.put("detail", getMessage());
        body.putAll(extensions);
        if (requestId != null) {
            body.put("requestId", requestId);
        }
        return body;
    }

    /** Echo at most a short, printable-ASCII version of caller input. */
    public static String sanitize(String input) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < input.length() && sb.length() < 80; i++) {
            char c = input.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return sb.toString();
    }
}
