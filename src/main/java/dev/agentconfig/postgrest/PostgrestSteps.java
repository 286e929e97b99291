package dev.agentconfig.postgrest;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.agentconfig.transport.ClassifiedFailureException;
import dev.agentconfig.core.Failure;
import dev.agentconfig.core.Failures;
import dev.agentconfig.core.FailureClass;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of route postgrest-call (routes/transport-rest.camel.yaml): one
 * request to PostgREST, isolated from the exchange it serves, and its answer classified once.
 *
 * <p>Isolation: the caller's headers (an inbound HTTP request's path, query, method, its
 * Authorization) would otherwise steer or leak into camel-http's request, and PostgREST's answer
 * headers (its status above all) into the caller's answer. They are set aside for the call and
 * put back afterwards, success or failure.
 *
 * <p>Classification: a 2xx answer leaves its body (text, or null) for the caller; any other
 * answer becomes a {@link ClassifiedFailureException} with the class
 * {@link dev.agentconfig.core.Failures#ofPostgrest} gives it, thrown inside the caller's circuit breaker so
 * breaker, in-request retry, dead-letter channel, quarantine and sync treat it as they treat a
 * JDBC failure. A schema-cache miss on a request that may heal is not thrown the first time:
 * the route asks PostgREST to reload its cache and sends the request once more.
 */
public final class PostgrestSteps {
    private static final Logger LOG = LoggerFactory.getLogger(PostgrestSteps.class);
    static final String REQUEST = "agentconfig.postgrest.request";
    /** Set by {@link #response}: the route reloads PostgREST's schema cache and sends again. */
    public static final String RELOAD = "agentconfig.postgrest.reload";
    /** The schema-cache miss that asked for the reload (for the log line of the reload). */
    public static final String STALE = "agentconfig.postgrest.stale";
    private static final String STASHED_HEADERS = "agentconfig.postgrest.callerHeaders";
    private static final String STARTED = "agentconfig.postgrest.started";

    private final PostgrestAuth auth;
    private final SchemaDriftRegister drift;
    private final SchemaCacheReload schemaCache;
    private final MeterRegistry meters;

    public PostgrestSteps(PostgrestAuth auth, SchemaDriftRegister drift,
                          SchemaCacheReload schemaCache, MeterRegistry meters) {
        this.auth = auth;
        this.drift = drift;
        this.schemaCache = schemaCache;
        this.meters = meters;
    }

    /** Takes the request from the body and sets the caller's headers aside. */
    public void isolate(Exchange exchange) {
        Message m = exchange.getMessage();
        PostgrestRequest request = m.getBody(PostgrestRequest.class);
        if (request == null) {
            throw new IllegalStateException("route postgrest-call needs a PostgrestRequest as its body");
        }
        exchange.setProperty(REQUEST, request);
        exchange.setProperty(STASHED_HEADERS, new LinkedHashMap<>(m.getHeaders()));
        exchange.removeProperty(RELOAD);
        exchange.removeProperty(STALE);
        m.removeHeaders("*");
    }

    /** The message camel-http turns into the request: method, path, query, the contract's headers, body. */
    public void request(Exchange exchange) {
        PostgrestRequest request = exchange.getProperty(REQUEST, PostgrestRequest.class);
        Message m = exchange.getMessage();
        m.removeHeaders("*");
        m.setHeader(Exchange.HTTP_METHOD, request.method());
        m.setHeader(Exchange.HTTP_PATH, request.path());
        if (request.query() != null) {
            m.setHeader(Exchange.HTTP_QUERY, request.query());
        }
        m.setHeader("Accept", "application/json");
        m.setHeader(Exchange.CONTENT_TYPE, "application/json");
        m.setHeader(request.write() ? "Content-Profile" : "Accept-Profile", PostgrestSettings.PROFILE);
        if (request.prefer() != null) {
            m.setHeader("Prefer", request.prefer());
        }
        // bytes: JSON is UTF-8, whatever charset the HTTP client would assume for a String
        m.setBody(request.body() == null ? null : request.body().getBytes(StandardCharsets.UTF_8));
        exchange.setProperty(STARTED, System.nanoTime());
    }

    /** PostgREST answered: keep a success's body, or classify the error (see the class comment). */
    public void response(Exchange exchange) {
        PostgrestRequest request = exchange.getProperty(REQUEST, PostgrestRequest.class);
        Message m = exchange.getMessage();
        int status = m.getHeader(Exchange.HTTP_RESPONSE_CODE, 0, Integer.class);
        String body = text(m);
        time(exchange, request, String.valueOf(status));
        exchange.setProperty(RELOAD, false);
        if (status >= 200 && status < 300) {
            drift.resolved(request);
            m.removeHeaders("*");
            m.setBody(new PostgrestAnswer(request, body == null || body.isBlank() ? null : body));
            return;
        }
        m.removeHeaders("*");
        m.setBody(null);
        PostgrestError error = PostgrestError.parse(body);
        Failure failure = Failures.ofPostgrest(status, error.code(), auth.redact(error.message()));
        if (Failures.staleSchemaCache(failure) && request.heal() && schemaCache.available()
                && exchange.getProperty(STALE) == null) {
            exchange.setProperty(STALE, failure);
            exchange.setProperty(RELOAD, true);
            return;
        }
        if (failure.failureClass() == FailureClass.SCHEMA_DRIFT) {
            drift.record(request, failure);
        }
        if (LOG.isDebugEnabled()) {
            LOG.debug("PostgREST answered {} {} to {}: {}", status, failure.code(), request, failure.message());
        }
        throw new ClassifiedFailureException(failure);
    }

    /** The caller's headers back, PostgREST's gone; whatever the outcome of the call. */
    @SuppressWarnings("unchecked")
    public void restore(Exchange exchange) {
        Map<String, Object> callers = exchange.removeProperty(STASHED_HEADERS) instanceof Map<?, ?> h
                ? (Map<String, Object>) h : Map.of();
        Message m = exchange.getMessage();
        m.removeHeaders("*");
        m.getHeaders().putAll(callers);
        exchange.removeProperty(REQUEST);
        exchange.removeProperty(RELOAD);
        exchange.removeProperty(STALE);
        exchange.removeProperty(STARTED);
    }

    private void time(Exchange exchange, PostgrestRequest request, String status) {
        Long started = exchange.getProperty(STARTED, Long.class);
        if (started != null) {
            Timer.builder("agentconfig.postgrest.request")
                    .description("requests to PostgREST by resource and HTTP status")
                    .tag("resource", request.resource())
                    .tag("method", request.method())
                    .tag("status", status)
                    .register(meters)
                    .record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
        }
    }

    private static String text(Message m) {
        Object body = m.getBody();
        if (body == null) {
            return null;
        }
        if (body instanceof byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
        return m.getBody(String.class);
    }
}
