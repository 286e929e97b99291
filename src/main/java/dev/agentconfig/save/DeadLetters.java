package dev.agentconfig.save;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.transport.FailureClassifier;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dead-letter channel of a target (route dead-letter): what the target could not take, classified
 * once. The branch's answer becomes that outcome (queued, quarantined, or a tenant conflict); the save
 * parks every failed target at once afterwards (route park-in-local-store).
 */
public final class DeadLetters {
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetters.class);
    /** Set by each target route before it writes: which target this branch is (never a caller's input). */
    public static final String TARGET_PROPERTY = "agentconfig.target";

    private final FailureClassifier classifier;
    private final TargetBreakers breakers;

    public DeadLetters(FailureClassifier classifier, TargetBreakers breakers) {
        this.classifier = classifier;
        this.breakers = breakers;
    }

    /** Exchange: the dead-letter channel hands over the failure as the exchange's caught exception. */
    public TargetOutcome failed(Exchange exchange) {
        Target target = Target.byTable(exchange.getProperty(TARGET_PROPERTY, String.class));
        Failure failure = classifier.classify(exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class));
        // the database out of reach: every target's breaker opens now, not after a window of timeouts
        breakers.tripIfUnreachable(failure);
        if (LOG.isDebugEnabled()) {
            SealedSave save = exchange.getMessage().getBody(SealedSave.class);
            LOG.debug("Save {} for {}: {} not written ({} {}: {})", save == null ? "?" : save.saveId(),
                    save == null ? "?" : save.user(), target.table(), failure.failureClass().id(), failure.code(),
                    failure.message());
        }
        return TargetOutcome.failed(target, failure);
    }
}
