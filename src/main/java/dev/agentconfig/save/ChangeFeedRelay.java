package dev.agentconfig.save;

import java.util.concurrent.atomic.AtomicBoolean;

import dev.agentconfig.core.ChangeFeed;
import dev.agentconfig.core.ConfigChange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bean "changeFeed": what the save path and the sync publish to. It relays to the feed a later
 * feature connects (the Kafka events topic), {@link ChangeFeed#NONE} until then, and never lets a
 * feed's failure reach a save.
 */
public final class ChangeFeedRelay implements ChangeFeed {
    private static final Logger LOG = LoggerFactory.getLogger(ChangeFeedRelay.class);

    private volatile ChangeFeed feed = ChangeFeed.NONE;
    private final AtomicBoolean warned = new AtomicBoolean();

    public void connect(ChangeFeed target) {
        this.feed = target == null ? ChangeFeed.NONE : target;
    }

    @Override
    public void publish(ConfigChange change) {
        try {
            feed.publish(change);
        } catch (RuntimeException e) {
            if (warned.compareAndSet(false, true)) {
                LOG.warn("The change feed failed to take a change ({}); saves go on without it", e.toString());
            }
        }
    }
}
