package dev.agentconfig.transport;

import dev.agentconfig.config.Beans;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/** What both transports share: the failure classifier and the dead-letter channel's retry predicate. */
public final class TransportConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) {
        FailureClassifier classifier = new FailureClassifier();
        context.getRegistry().bind("failureClassifier", classifier);
        context.getRegistry().bind("retryTransient",
                new RetryTransient(classifier, Beans.settings(context).saveRetryAttempts()));
    }
}
