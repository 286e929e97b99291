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
                () -> {
                    java.util.List<HealthCheck> checks = contributed(context);
                    if (keys != null) {
                        checks.add(keys.get()); // cheap: counted in the background (rotation)
                    }
                    return checks;
                }));
    }

    /**
     * The Camel health checks of group "agentconfig" that features bind (the Kafka door's, when Kafka is
     * on), as checks of /observe/health: name, state, message, and their own details (Camel's
     * bookkeeping, keys with a dot, left out).
     */
    static java.util.List<dev.agentconfig.transport.HealthCheck> contributed(CamelContext context) {
        java.util.List<dev.agentconfig.transport.HealthCheck> checks = new java.util.ArrayList<>();
        for (org.apache.camel.health.HealthCheck check
                : context.getRegistry().findByType(org.apache.camel.health.HealthCheck.class)) {
            if (!"agentconfig".equals(check.getGroup())) {
                continue;
            }
            org.apache.camel.health.HealthCheck.Result r = check.call();
            java.util.Map<String, Object> data = new java.util.LinkedHashMap<>();
            r.getDetails().forEach((k, v) -> {
                if (!k.contains(".")) {
                    data.put(k, v);
                }
            });
            checks.add(new dev.agentconfig.transport.HealthCheck(check.getId(),
                    r.getState() == org.apache.camel.health.HealthCheck.State.UP, r.getMessage().orElse(""), data));
        }
        checks.sort(java.util.Comparator.comparing(dev.agentconfig.transport.HealthCheck::name));
        return checks;
    }
}
