package dev.agentconfig.observe;

import dev.agentconfig.config.Beans;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/**
 * Health and metrics (routes/api-observe.camel.yaml). The checks themselves are registered by the
 * features that own them (ServiceChecks); camel-micrometer (camel.metrics.*) records Camel's meters
 * on the service's one registry ("meterRegistry", see AppConfiguration).
 */
public final class ObserveConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) {
        PrometheusMeterRegistry meters = Beans.require(context, "meterRegistry", PrometheusMeterRegistry.class);
        context.getRegistry().bind("metrics", new Metrics(meters));
        context.getRegistry().bind("health", new Health(context));
    }
}
