package dev.agentconfig.api;

import java.time.Duration;
import java.util.Map;

import dev.agentconfig.core.SaveCommand;
import dev.agentconfig.core.SaveOutcome;
import dev.agentconfig.save.SaveAnswer;
import dev.agentconfig.save.SaveCommandParser;
import dev.agentconfig.save.Saving;
import org.apache.camel.Exchange;

/**
 * The HTTP door of the save (route http-save): the one place an HTTP request becomes a save command,
 * and a save's outcome or refusal becomes the HTTP answer. Whose configuration: the path's, as
 * {@link HttpGuard#authenticate} checked it against the credential; nothing else the caller sends can
 * choose it. (Exchange: this is the HTTP adapter.)
 */
public final class HttpSaves {
    /** The one request header a save reads besides its credential (HttpHeaderFilter lets it in). */
    public static final String IDEMPOTENCY_KEY = "Idempotency-Key";

    private final SaveCommandParser parser = new SaveCommandParser();
    private final Saving saving;

    public HttpSaves(Saving saving) {
        this.saving = saving;
    }

    /** The path's identity, the JSON body's fields, the Idempotency-Key header. */
    public SaveCommand command(Exchange exchange) {
        byte[] body = exchange.getMessage().getBody(byte[].class);
        return parser.http(PathIdentity.of(exchange).user(), body,
                exchange.getMessage().getHeader(IDEMPOTENCY_KEY, String.class));
    }

    /** 200 saved or stale, 202 queued or quarantined: {"status","saveId","version","targets","error"?}. */
    public Map<String, Object> answer(Exchange exchange) {
        SaveOutcome outcome = exchange.getMessage().getBody(SaveOutcome.class);
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, outcome.httpStatus());
        saving.answered(took(exchange));
        return SaveAnswer.of(outcome);
    }

    /**
     * A refused save (the doCatch of routes http-save and http-history-restore): audited, then answered as
     * problem+json here, by the one problem writer ({@link Problem#answer}, as route configuration api-errors
     * answers). It answers rather than throws: an exception thrown from a doCatch would skip its own route's
     * onException. A Problem (the door's own 400, 404, ...) is answered as it is, not audited as a save.
     */
    public void refused(Exchange exchange) {
        Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        String requestId = exchange.getProperty(HttpGuard.REQUEST_ID, String.class);
        Problem problem;
        if (error instanceof Problem p) {
            problem = p;
        } else {
            try {
                var refusal = saving.refused(exchange.getMessage().getBody(),
                        PathIdentity.find(exchange).map(PathIdentity::validUserOrNull).orElse(null), error);
                problem = Problem.of(refusal);
            } catch (RuntimeException auditFailed) {
                // the refusal is answered even when its audit row cannot be written
                error.addSuppressed(auditFailed);
                problem = Problem.from(error, requestId);
            }
        }
        saving.answered(took(exchange));
        problem.answer(exchange);
    }

    private static Duration took(Exchange exchange) {
        return Duration.ofMillis(Math.max(0, System.currentTimeMillis() - exchange.getClock().getCreated()));
    }
}
