package dev.agentconfig.transport;

import dev.agentconfig.core.Failure;
import org.apache.camel.Exchange;
import org.apache.camel.Predicate;

/**
 * The dead-letter channel's retryWhile: a transient failure is retried in the request a few times;
 * an open circuit breaker, a statement timeout, an answer that did not come in time or refused
 * credentials are not ({@link Failure#retryableNow()}), nor any other class.
 * (Exchange: the dead-letter channel's own predicate type.)
 */
public final class RetryTransient implements Predicate {
    private final FailureClassifier classifier;
    private final int maxAttempts;

    public RetryTransient(FailureClassifier classifier, int maxAttempts) {
        this.classifier = classifier;
        this.maxAttempts = maxAttempts;
    }

    @Override
    public boolean matches(Exchange exchange) {
        Integer counter = exchange.getIn().getHeader(Exchange.REDELIVERY_COUNTER, 0, Integer.class);
        if (counter >= maxAttempts) {
            return false;
        }
        Throwable error = exchange.getException();
        if (error == null) {
            error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        }
        return error != null && classifier.classify(error).retryableNow();
    }
}
