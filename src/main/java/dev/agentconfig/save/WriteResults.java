package dev.agentconfig.save;

import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.WriteResult;
import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;

/**
 * Aggregation of route write-targets' multicast: each branch answers one {@link TargetOutcome} (written,
 * or what its dead-letter channel made of the failure); together they become the save's
 * {@link WriteResult}. A branch skipped by its filter (a replay of a target not pending) adds nothing.
 * A failure that escaped a dead-letter channel is carried back to the save.
 * (Exchange: this is Camel's aggregation contract.)
 */
public final class WriteResults implements AggregationStrategy {
    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange) {
        throw new UnsupportedOperationException("the input exchange is required");
    }

    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange, Exchange inputExchange) {
        WriteResult acc = oldExchange == null
                ? WriteResult.of(inputExchange.getMessage().getBody(SealedSave.class))
                : oldExchange.getMessage().getBody(WriteResult.class);
        if (newExchange.getException() != null && inputExchange.getException() == null) {
            inputExchange.setException(newExchange.getException());
        }
        Object branch = newExchange.getMessage().getBody();
        if (branch instanceof TargetOutcome outcome) {
            acc = acc.with(outcome);
        }
        newExchange.getMessage().setBody(acc);
        return newExchange;
    }

    @Override
    public void onCompletion(Exchange exchange, Exchange inputExchange) {
        // no branch ran at all (nothing pending): the result is the save with no outcome
        if (exchange != null && !(exchange.getMessage().getBody() instanceof WriteResult)) {
            exchange.getMessage().setBody(WriteResult.of(inputExchange.getMessage().getBody(SealedSave.class)));
        }
    }
}
