package dev.agentconfig.api;

import java.util.Locale;
import java.util.Set;

import org.apache.camel.Exchange;
import org.apache.camel.component.platform.http.vertx.HttpMessage;
import org.apache.camel.http.base.HttpHeaderFilterStrategy;

/**
 * The platform-http component's header filter, both ways.
 *
 * <p>Inbound it is an allow-list. Camel's HTTP consumer turns every request header, every query
 * parameter and every form field into a message header through this one filter, so anything the
 * routes read as a header could otherwise be set by a caller. Only the headers a client
 * legitimately sends get in, and only when they really arrived as request headers (not as a query
 * parameter or a form field of the same name). The path parameters {@code tenantId} and
 * {@code userId} are not filtered: platform-http adds them after this filter ran, from the path
 * only (and since no outside header of those names gets in, nothing can shadow or join them). The
 * raw query string stays available as {@link Exchange#HTTP_QUERY} ({@code ?reveal=true} is read
 * from there).
 *
 * <p>Outbound it is Camel's HTTP filter, except that {@code Cache-Control} (on Camel's list of
 * "common" headers) reaches the client: answers that carry configuration, or a revealed key, must
 * not be cached by proxies or browsers; and {@code Warning}, which a read answered partly from the
 * last-known copy carries (110 "Response is Stale").
 */
public final class HttpHeaderFilter extends HttpHeaderFilterStrategy {
    /**
     * Lower case. Everything else a caller sends is dropped before any route runs.
     *
     * <p>{@code if-none-match} is here for one reader only, client/ClientModule (GET /client/agent-config.js):
     * a validator, compared with the module's ETag to answer 304. It names no one and changes nothing
     * stored; the worst a caller can do with it is get a 304 for its own request. The CORS headers
     * ({@code Origin}, {@code Access-Control-Request-*}) are deliberately NOT here: client/CrossOrigin
     * reads them on the server's router before Camel, so no route ever sees them.
     *
     * <p>{@code traceparent} (W3C Trace Context) is read by Camel's tracer only (observe/Tracing), when
     * tracing is on: it steers the trace id and parent of the request's spans and nothing else (a malformed
     * one starts a new trace). {@code tracestate} and {@code baggage} stay out: baggage would ride along into
     * every span and onward call.
     */
    static final Set<String> INBOUND = Set.of("authorization", "content-type", "content-length", "accept",
            "idempotency-key", "x-request-id", "if-none-match", "traceparent");

    @Override
    protected void initialize() {
        super.initialize();
        getOutFilter().remove("cache-control");
        // a read that answers values from the last-known copy says so (Warning: 110 "Response is Stale")
        getOutFilter().remove("warning");
    }

    /** True = filtered out (Camel's convention). */
    @Override
    public boolean applyFilterToExternalHeaders(String name, Object value, Exchange exchange) {
        if (name == null || !INBOUND.contains(name.toLowerCase(Locale.ROOT))) {
            return true;
        }
        // query parameters and form fields come through here too, under the same names
        if (exchange == null || !(exchange.getIn() instanceof HttpMessage message) || message.getRequest() == null) {
            return true;
        }
        return !message.getRequest().headers().getAll(name).contains(String.valueOf(value));
    }
}
