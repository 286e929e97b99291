package dev.agentconfig.sync;

import java.util.List;

import dev.agentconfig.core.ReplayBatch;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.sync.ReplayOutcome.Result;
import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Aggregation of the sync's splits (route sync-pass over batches): each replay's outcome goes into the pass's plan as soon as it is known (streaming), so the first
 * replay that finds the database out of reach stops the others. A replay that failed unexpectedly is logged
 * and counted, and does not fail the pass. (Exchange: this is Camel's aggregation contract.)
 */
public final class PassOutcomes implements AggregationStrategy {
    private static final Logger LOG = LoggerFactory.getLogger(PassOutcomes.class);

    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange) {
        throw new UnsupportedOperationException("the input exchange is required");
    }

    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange, Exchange inputExchange) {
        Object input = inputExchange.getMessage().getBody();
        SyncPlan plan = input instanceof SyncPlan.Batch b ? b.plan() : (SyncPlan) input;
        Object body = newExchange.getMessage().getBody();
        if (newExchange.getException() != null) {
            List<UserKey> keys = keysOf(body);
            LOG.error("Sync: replay of local entries {} failed unexpectedly; they stay as they were", keys,
                    newExchange.getException());
            newExchange.setException(null);
            keys.forEach(key -> plan.record(ReplayOutcome.of(key, Result.FAILED)));
        } else if (body instanceof ReplayOutcome outcome) {
            plan.record(outcome);
        } else if (body instanceof List<?> outcomes) {
            for (Object o : outcomes) {
                if (o instanceof ReplayOutcome outcome) {
                    plan.record(outcome);
                }
            }
        }
        // a batch comes back as the batch: its entries' outcomes already recorded
        return inputExchange;
    }

    private static List<UserKey> keysOf(Object body) {
        if (body instanceof SyncPlan.Batch b) {
            return b.keys();
        }
        if (body instanceof ReplayBatch b) {
            return b.entries().stream().map(w -> w.save().user()).toList();
        }
        if (body instanceof SyncPlan.Replay r) {
            return List.of(r.key());
        }
        if (body instanceof SealedSave s) {
            return List.of(s.user());
        }
        if (body instanceof WriteResult w) {
            return List.of(w.save().user());
        }
        return body instanceof ReplayOutcome o ? List.of(o.key()) : List.of();
    }
}
