package dev.agentconfig.observe;

import java.util.List;
import java.util.function.Supplier;

import dev.agentconfig.config.Beans;
import dev.agentconfig.config.Settings;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.transport.Backend;
import dev.agentconfig.transport.HealthCheck;
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
        // other features' cheap checks, when bound: keys (rotation)
        @SuppressWarnings("unchecked")
        Supplier<HealthCheck> keys = Beans.optional(context, "keysHealthCheck", Supplier.class);
        context.getRegistry().bind("health", new Health(Beans.require(context, "backend", Backend.class),
                Beans.require(context, "localStore", LocalStore.class), settings.maxPendingAge(), Health.cacheTtl(context),
                keys == null ? List.of() : List.of(keys)));
    }
}
