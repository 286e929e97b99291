package dev.agentconfig.save;

import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.WriteResult;
import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;

/**
 * Aggregation of route write-targets' multicast: each branch answers one {@link TargetOutcome} (written,
 * or what its dead-letter channel made of the failure); together they become the save's
 * {@link WriteResult}, the body after the multicast. A branch skipped by its filter (a replay of a target
 * not pending) adds nothing. A failure that escaped a dead-letter channel is carried back to the save.
 *
 * <p>Exchange: this is Camel's aggregation contract. The save's own exchange is the result, never a
 * branch's: a branch that went through its dead-letter channel is marked handled and would end the save.
 * The outcomes gather in a property of the save's exchange until the multicast completes.
 */
public final class WriteResults implements AggregationStrategy {
    private static final String GATHERED = "agentconfig.writeResults";

    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange) {
        throw new UnsupportedOperationException("the input exchange is required");
    }

    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange, Exchange inputExchange) {
        WriteResult acc = inputExchange.getProperty(GATHERED, WriteResult.class);
        if (acc == null) {
            acc = WriteResult.of(inputExchange.getMessage().getBody(SealedSave.class));
        }
        if (newExchange != null) {
            if (newExchange.getException() != null && inputExchange.getException() == null) {
                inputExchange.setException(newExchange.getException());
            }
            if (newExchange.getMessage().getBody() instanceof TargetOutcome outcome) {
                acc = acc.with(outcome);
            }
        }
        inputExchange.setProperty(GATHERED, acc);
        return inputExchange;
    }

    @Override
    public void onCompletion(Exchange exchange, Exchange inputExchange) {
        Exchange save = inputExchange != null ? inputExchange : exchange;
        WriteResult acc = save.removeProperty(GATHERED) instanceof WriteResult w ? w
                : WriteResult.of(save.getMessage().getBody(SealedSave.class));
        save.getMessage().setBody(acc);
    }
}
