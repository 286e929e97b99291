package dev.agentconfig.postgrest;

import dev.agentconfig.core.Failure;
import dev.agentconfig.transport.FailureClassifier;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;

/**
 * For Java callers outside a route (health, the breaker probe, the audit writer): one request
 * through the same route postgrest-call the save and read paths use, so there is one HTTP client,
 * one set of headers and one classification.
 */
public final class PostgrestClient {
    /** A 2xx answer's body, or the classified failure. */
    public record Result(String body, Failure failure) {
        public boolean ok() {
            return failure == null;
        }
    }

    private final CamelContext context;
    private final FailureClassifier classifier;
    private volatile ProducerTemplate template;

    public PostgrestClient(CamelContext context, FailureClassifier classifier) {
        this.context = context;
        this.classifier = classifier;
    }

    public Result call(PostgrestRequest request) {
        try {
            Exchange done = template().request("direct:postgrest-call", ex -> ex.getMessage().setBody(request));
            if (done.getException() != null) {
                return new Result(null, classifier.classify(done.getException()));
            }
            Object answer = done.getMessage().getBody();
            return new Result(answer instanceof PostgrestAnswer a ? a.body() : null, null);
        } catch (RuntimeException e) {
            return new Result(null, classifier.classify(e));
        }
    }

    private ProducerTemplate template() {
        ProducerTemplate t = template;
        if (t == null) {
            synchronized (this) {
                if (template == null) {
                    template = context.createProducerTemplate();
                }
                t = template;
            }
        }
        return t;
    }
}
