package dev.agentconfig.api;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.core.Field;
import dev.agentconfig.read.FieldValue;
import dev.agentconfig.read.KeyReader;
import dev.agentconfig.read.ReadResult;
import dev.agentconfig.read.ReadView;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET …?reveal=true}: the one place a plaintext key leaves the service. Who may reveal is
 * HttpGuard's decision (the service token only). Every reveal request for a known user is
 * audited: granted (the key was returned), refused (403), or empty (no key, or it does not decrypt).
 */
public final class HttpReads {
    private static final Logger LOG = LoggerFactory.getLogger(HttpReads.class);
    static final String PROPERTY = "agentconfig.reveal";

    private final HttpGuard guard;
    private final KeyReader keys;
    private final AuditTrail audit;
    private final MeterRegistry meters;

    public HttpReads(HttpGuard guard, KeyReader keys, AuditTrail audit, MeterRegistry meters) {
        this.guard = guard;
        this.keys = keys;
        this.audit = audit;
        this.meters = meters;
    }

    /** Before the read: is a reveal asked for, and may this caller have it? 403 (audited) if not. */
    public void authorize(Exchange exchange) {
        if (!requested(exchange)) {
            return;
        }
        if (!guard.mayReveal(exchange)) {
            record(exchange, false, Map.of("reason", "caller-not-allowed"));
            throw Problem.forbidden("only the service token may reveal the API key");
        }
        exchange.setProperty(PROPERTY, Boolean.TRUE);
    }

    /**
     * The answer of a read (the key masked; the plaintext when a reveal was authorized). 404 when no
     * location knows the user under this tenant; 503 when nothing was found but a location could not
     * be asked (it might hold the user).
     */
    public Map<String, Object> view(Exchange exchange) {
        ReadResult result = exchange.getMessage().getBody(ReadResult.class);
        if (!result.found()) {
            if (result.allAnswered()) {
                throw Problem.notFound("no configuration is stored for user " + result.userId() + " under tenant "
                        + result.tenantId());
            }
            throw new Problem(503, "locations-unavailable", "The configuration cannot be read now",
                    "no location that answered knows user " + result.userId() + ", and some locations could not "
                            + "be read; retry later", Map.of("sources", ReadView.sources(result)));
        }
        Map<String, Object> body = ReadView.of(result, keys);
        if (ReadView.stale(result)) {
            // RFC 9111 §5.5 (obsoleted, still the one header caches and tools show): some values are last known
            exchange.setProperty(HttpGuard.RESPONSE_WARNING, "110 - \"Response is Stale\"");
        }
        if (Boolean.TRUE.equals(exchange.getProperty(PROPERTY, Boolean.class))) {
            reveal(exchange, result, body);
        }
        return body;
    }

    /** Put the plaintext key into the answer (if there is one that opens), and audit it. */
    private void reveal(Exchange exchange, ReadResult result, Map<String, Object> body) {
        FieldValue winner = result.winner(Field.RETELL_API_KEY).orElse(null);
        Map<String, Object> details = new LinkedHashMap<>();
        if (winner == null || winner.value() == null) {
            details.put("reason", "no-key");
            record(exchange, false, details);
            body.put("revealed", false);
            return;
        }
        details.put("source", winner.source().id());
        details.put("version", winner.version());
        String plaintext;
        try {
            plaintext = keys.plaintext(result.tenantId(), result.userId(), winner);
        } catch (FieldCipher.EnvelopeException e) {
            details.put("reason", ReadView.UNDECRYPTABLE);
            record(exchange, false, details);
            body.put("revealed", false);
            return;
        }
        body.put(Field.RETELL_API_KEY.json(), plaintext);
        body.put("revealed", true);
        record(exchange, true, details);
        LOG.info("The API key of {}/{} was revealed to the service (audited)", result.tenantId(), result.userId());
    }

    /** {@code reveal=true|false} in the query string; anything else is a bad request. */
    static boolean requested(Exchange exchange) {
        String query = exchange.getMessage().getHeader(Exchange.HTTP_QUERY, String.class);
        if (query == null || query.isEmpty()) {
            return false;
        }
        Boolean reveal = null;
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            if (!"reveal".equals(name)) {
                continue;
            }
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            if (reveal != null || !("true".equals(value) || "false".equals(value))) {
                throw Problem.badRequest("reveal must be given once, as true or false");
            }
            reveal = "true".equals(value);
        }
        return Boolean.TRUE.equals(reveal);
    }

    private void record(Exchange exchange, boolean success, Map<String, Object> details) {
        dev.agentconfig.core.UserKey user = PathIdentity.find(exchange).map(PathIdentity::validUserOrNull).orElse(null);
        Map<String, Object> d = new LinkedHashMap<>(details);
        d.put("requestId", exchange.getProperty(HttpGuard.REQUEST_ID, String.class));
        Object caller = exchange.getProperty(HttpGuard.CALLER_PROPERTY);
        d.put("caller", caller == null ? "unknown" : caller.toString().toLowerCase(java.util.Locale.ROOT));
        audit.record(new AuditEvent(Instant.now(), "reveal", user == null ? null : user.tenantId(),
                user == null ? null : user.userId(), success, d));
        meters.counter("agentconfig.reveals", "outcome", success ? "revealed" : "refused").increment();
    }
}
