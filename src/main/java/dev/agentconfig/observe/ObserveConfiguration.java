package dev.agentconfig.observe;

import dev.agentconfig.config.Beans;
import dev.agentconfig.config.Settings;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.transport.Backend;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/** Health and metrics (routes/api-observe.camel.yaml). */
public final class ObserveConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) {
        Settings settings = Beans.settings(context);
        context.getRegistry().bind("metrics",
                new Metrics(Beans.require(context, "meterRegistry", PrometheusMeterRegistry.class)));
        context.getRegistry().bind("health", new Health(Beans.require(context, "backend", Backend.class),
                Beans.require(context, "localStore", LocalStore.class), settings.maxPendingAge(), Health.cacheTtl(context)));
    }
}
