package dev.agentconfig.observe;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.Exchange;

/**
 * /observe/metrics: the service's one meter registry in Prometheus text format. On it: Camel's route
 * and exchange meters and the JVM's (camel-micrometer, configured by camel.metrics.* in
 * application.properties), and the meters each feature registers (save outcomes and latency, breaker
 * states, reads, the sync's figures, PostgREST requests).
 */
public final class Metrics {
    private final PrometheusMeterRegistry registry;

    public Metrics(PrometheusMeterRegistry registry) {
        this.registry = registry;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Route step (an HTTP edge: it sets the status and the type): the Prometheus text exposition. */
    public String scrape(Exchange exchange) {
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        return registry.scrape();
    }
}
