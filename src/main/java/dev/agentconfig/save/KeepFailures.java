package dev.agentconfig.save;

import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;

/**
 * Aggregation of the save's multicast over its targets. The answer is built from the shared
 * SaveContext, so the save's own exchange is kept as it was: a branch that went through its
 * dead-letter channel is marked "handled" and must not stop the save. Only a failure that
 * escaped a dead-letter channel (the local store could not be written) is carried back.
 */
public final class KeepFailures implements AggregationStrategy {
    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange) {
        throw new UnsupportedOperationException("the input exchange is required");
    }

    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange, Exchange inputExchange) {
        if (newExchange != null && newExchange.getException() != null && inputExchange.getException() == null) {
            inputExchange.setException(newExchange.getException());
        }
        return inputExchange;
    }
}
