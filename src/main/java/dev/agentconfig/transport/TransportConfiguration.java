package dev.agentconfig.transport;

import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/** What both transports share: the failure classifier (an exception chain to a classified failure). */
public final class TransportConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) {
        FailureClassifier classifier = new FailureClassifier();
        context.getRegistry().bind("failureClassifier", classifier);
    }
}
