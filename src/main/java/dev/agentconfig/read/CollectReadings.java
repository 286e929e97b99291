package dev.agentconfig.read;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import dev.agentconfig.core.UserKey;
import dev.agentconfig.transport.FailureClassifier;
import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Aggregation of route read-agent-config's multicast: each location's branch (a {@link ReadSteps} bean step)
 * answers a {@link LocationReading}; together they become the read's {@link Readings}, the body after the
 * multicast. A branch that failed without a reading (an Error: its bean turns every Exception into a reading)
 * is reported as that location's failure: the branches are in the order of {@link Source#ASKED}.
 * (Exchange: this is Camel's aggregation contract.)
 */
public final class CollectReadings implements AggregationStrategy {
    private static final Logger LOG = LoggerFactory.getLogger(CollectReadings.class);
    private final FailureClassifier classifier;

    public CollectReadings(FailureClassifier classifier) {
        this.classifier = classifier;
    }

    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange) {
        throw new UnsupportedOperationException("the input exchange is required");
    }

    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange, Exchange inputExchange) {
        Readings readings = oldExchange != null && oldExchange.getMessage().getBody() instanceof Readings r ? r
                : new Readings(inputExchange.getMessage().getBody(UserKey.class));
        Exchange result = oldExchange != null ? oldExchange : newExchange;
        if (newExchange != null) {
            // a branch answers one reading, or several (the local store's: the store and the parked topic)
            Object body = newExchange.getMessage().getBody();
            List<LocationReading> answered = new ArrayList<>();
            if (body instanceof LocationReading one) {
                answered.add(one);
            } else if (body instanceof Collection<?> many) {
                many.stream().filter(LocationReading.class::isInstance).map(LocationReading.class::cast)
                        .forEach(answered::add);
            }
            Integer branch = newExchange.getProperty(Exchange.MULTICAST_INDEX, Integer.class);
            if (answered.isEmpty() && branch != null && branch < Source.ASKED.size()) {
                answered.add(LocationReading.failed(Source.ASKED.get(branch), classifier.classify(newExchange.getException())));
            }
            newExchange.setException(null);
            answered.forEach(readings::record);
        }
        result.setException(null);
        result.getMessage().setBody(readings);
        return result;
    }

    @Override
    public void timeout(Exchange exchange, int index, int total, long timeout) {
        LOG.debug("Read: location branch {} of {} did not answer within {} ms", index + 1, total, timeout);
    }
}
