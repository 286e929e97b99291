package dev.agentconfig.sync;

import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.sync.ReplayOutcome.Result;
import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Aggregation of route sync-pass's split: each replay's outcome goes into the pass's plan (the body of
 * the pass), as soon as it is known (streaming), so the first replay that finds the database out of reach
 * stops the others. A replay that failed unexpectedly is logged and counted, and does not fail the pass.
 * (Exchange: this is Camel's aggregation contract.)
 */
public final class PassOutcomes implements AggregationStrategy {
    private static final Logger LOG = LoggerFactory.getLogger(PassOutcomes.class);

    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange) {
        throw new UnsupportedOperationException("the input exchange is required");
    }

    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange, Exchange inputExchange) {
        SyncPlan plan = inputExchange.getMessage().getBody(SyncPlan.class);
        Object body = newExchange.getMessage().getBody();
        if (newExchange.getException() != null) {
            UserKey key = keyOf(body);
            LOG.error("Sync: replay of local entry {} failed unexpectedly; it stays as it was", key,
                    newExchange.getException());
            newExchange.setException(null);
            if (key != null) {
                plan.record(ReplayOutcome.of(key, Result.FAILED));
            }
        } else if (body instanceof ReplayOutcome outcome) {
            plan.record(outcome);
        }
        return inputExchange;
    }

    private static UserKey keyOf(Object body) {
        if (body instanceof SyncPlan.Replay r) {
            return r.key();
        }
        if (body instanceof SealedSave s) {
            return s.user();
        }
        if (body instanceof WriteResult w) {
            return w.save().user();
        }
        return body instanceof ReplayOutcome o ? o.key() : null;
    }
}
