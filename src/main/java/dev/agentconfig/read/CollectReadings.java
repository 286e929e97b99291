package dev.agentconfig.read;

import dev.agentconfig.failure.FailureClassifier;
import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Aggregation of the read's parallel multicast: each location's branch ends with a
 * {@link LocationReading} as its body, collected into the read's {@link ReadContext}. The read's
 * own exchange is the result. A branch that still carries an exception (it should have turned it
 * into a reading itself) is recorded as that location's failure, never as the read's.
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
        ReadContext ctx = inputExchange.getProperty(ReadContext.PROPERTY, ReadContext.class);
        if (newExchange == null || ctx == null) {
            return inputExchange;
        }
        LocationReading reading = newExchange.getMessage().getBody(LocationReading.class);
        if (reading == null) {
            String source = newExchange.getProperty(ReadContext.SOURCE_PROPERTY, String.class);
            Throwable error = newExchange.getException();
            if (source != null) {
                reading = LocationReading.failed(Source.byId(source), classifier.classify(error));
            }
        }
        if (reading != null) {
            ctx.record(reading);
        }
        return inputExchange;
    }

    @Override
    public void timeout(Exchange exchange, int index, int total, long timeout) {
        LOG.debug("Read: location branch {} of {} did not answer within {} ms", index + 1, total, timeout);
    }
}
