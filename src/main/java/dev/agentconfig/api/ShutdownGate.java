package dev.agentconfig.api;

import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.SimpleEventNotifierSupport;

/**
 * Closes the front door when the service begins to stop (SIGTERM): new requests get a 503
 * problem+json with Retry-After, while the requests already inside finish (Camel's graceful
 * shutdown waits for them) and their saves land in the database or the local store.
 */
public final class ShutdownGate extends SimpleEventNotifierSupport {
    private final AtomicBoolean closing = new AtomicBoolean();

    public boolean closing() {
        return closing.get();
    }

    @Override
    public void notify(CamelEvent event) {
        if (event.getType() == CamelEvent.Type.CamelContextStopping) {
            closing.set(true);
        }
    }

    @Override
    public boolean isEnabled(CamelEvent event) {
        return event.getType() == CamelEvent.Type.CamelContextStopping;
    }
}
