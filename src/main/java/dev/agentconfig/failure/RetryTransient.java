package dev.agentconfig.failure;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.FailureClass;
import org.apache.camel.Exchange;
import org.apache.camel.Predicate;

/**
 * The dead-letter channel's retryWhile: a transient failure is retried in the request a few
 * times; an open circuit breaker or a statement timeout is not, nor any other class.
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
        if (error == null) {
            return false;
        }
        Failure f = classifier.classify(error);
        // an open breaker is not retried (that is its point), nor a statement timeout or an HTTP
        // answer that did not come in time: a slow database must not hold the save for several
        // timeouts in a row; nor refused credentials: a wrong key is not right 20 ms later
        return f.failureClass() == FailureClass.TRANSIENT
                && !FailureClassifier.CODE_BREAKER_OPEN.equals(f.code())
                && !"57014".equals(f.code())
                && !FailureClassifier.CODE_TIMEOUT.equals(f.code())
                && !FailureClassifier.credentialsRefused(f);
    }
}
