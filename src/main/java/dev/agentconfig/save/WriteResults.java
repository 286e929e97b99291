package dev.agentconfig.save;

import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.WriteResult;
import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;

/**
 * Route write-targets: a save's {@link WriteResult} gathers what each target made of it. Each target is
 * written by an enrich of its own route (on a copy of the save's exchange, so that its dead-letter
 * channel ends only that copy); this strategy adds the target's outcome to the save's result.
 * A failure that escaped a dead-letter channel (the dead-letter route itself failed) is carried back.
 * (Exchange: this is Camel's aggregation contract.)
 */
public final class WriteResults implements AggregationStrategy {

    /** SealedSave -> WriteResult with no outcome yet. */
    public WriteResult start(SealedSave save) {
        return WriteResult.of(save);
    }

    @Override
    public Exchange aggregate(Exchange save, Exchange target) {
        if (target == null) {
            return save;
        }
        if (target.getException() != null) {
            save.setException(target.getException());
            return save;
        }
        WriteResult result = save.getMessage().getBody(WriteResult.class);
        if (target.getMessage().getBody() instanceof TargetOutcome outcome) {
            save.getMessage().setBody(result.with(outcome));
        }
        return save;
    }
}
