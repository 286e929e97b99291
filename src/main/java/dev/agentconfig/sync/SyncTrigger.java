package dev.agentconfig.sync;

import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks for a sync pass now, without waiting for the timer: when the breaker probe sees the database back,
 * and after a pass that drained entries while more are due (passes run back to back while a backlog
 * remains). At most one request waits at a time; the pass itself runs on route sync-pass's one consumer.
 * (A producer template: this is an event, not a step of a route.)
 */
public final class SyncTrigger {
    private static final Logger LOG = LoggerFactory.getLogger(SyncTrigger.class);
    static final String ENDPOINT = "seda:sync-pass";

    private final CamelContext context;
    private final AtomicBoolean requested = new AtomicBoolean();
    private volatile ProducerTemplate template;

    public SyncTrigger(CamelContext context) {
        this.context = context;
    }

    /** A pass after a short pause (the pool is still making its connections, say): no busy loop. */
    public void requestAfter(java.time.Duration pause, String why) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(pause.toMillis());
                request(why);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "sync-trigger");
        t.setDaemon(true);
        t.start();
    }

    public void request(String why) {
        if (!context.getStatus().isStarted() || !requested.compareAndSet(false, true)) {
            return;
        }
        LOG.debug("Sync pass requested: {}", why);
        try {
            template().asyncSendBody(ENDPOINT, null);
        } catch (RuntimeException e) {
            requested.set(false);
            LOG.warn("A sync pass could not be requested ({}): the next scheduled pass takes over", e.toString());
        }
    }

    /** The requested pass has begun: a later request queues another one. */
    void started() {
        requested.set(false);
    }

    private ProducerTemplate template() {
        ProducerTemplate t = template;
        if (t == null) {
            synchronized (this) {
                if (template == null) {
                    template = context.createProducerTemplate();
                }
                t = template;
            }
        }
        return t;
    }
}
