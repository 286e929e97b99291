package dev.agentconfig.observe;

import java.time.Duration;
import java.util.List;

import dev.agentconfig.save.TargetBreakers;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.Exchange;

/**
 * The service's meters, exported in Prometheus text format on /observe/metrics: saves by
 * outcome and target, save latency, breaker state per target (and, registered by their owners,
 * read latency and the sync's figures), plus the JVM's.
 */
public final class Metrics {
    private final PrometheusMeterRegistry registry;
    private final Timer saveLatency;
    /** Counters by their tags, so that the hot path does not look them up in the registry. */
    private final java.util.concurrent.ConcurrentHashMap<String, Counter> counters = new java.util.concurrent.ConcurrentHashMap<>();

    public Metrics(PrometheusMeterRegistry registry, TargetBreakers breakers) {
        this.registry = registry;
        this.saveLatency = Timer.builder("agentconfig.save.duration")
                .description("time to answer a save (direct:save), whatever the outcome")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry);
        for (CircuitBreaker b : breakers.all()) {
            for (CircuitBreaker.State state : List.of(CircuitBreaker.State.CLOSED, CircuitBreaker.State.OPEN,
                    CircuitBreaker.State.FORCED_OPEN, CircuitBreaker.State.HALF_OPEN)) {
                Gauge.builder("agentconfig.circuit.breaker.state", b, x -> x.getState() == state ? 1 : 0)
                        .description("1 for the breaker's current state")
                        .tag("target", b.getName())
                        .tag("state", state.name().toLowerCase(java.util.Locale.ROOT))
                        .register(registry);
            }
        }
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** One save outcome for one target (saved, stale, queued, quarantined, skipped, refused). */
    public void saveOutcome(String target, String outcome) {
        counters.computeIfAbsent("saves/" + target + "/" + outcome, k -> Counter.builder("agentconfig.saves")
                .description("save outcomes by target")
                .tag("target", target)
                .tag("outcome", outcome)
                .register(registry)).increment();
    }

    /** A save refused before or instead of reaching the stores, by HTTP status. */
    public void saveRefused(String status) {
        counters.computeIfAbsent("refused/" + status, k -> Counter.builder("agentconfig.saves.refused")
                .description("saves refused (400, 409, 503, ...) by status")
                .tag("status", status)
                .register(registry)).increment();
    }

    public void saveLatency(Duration d) {
        saveLatency.record(d);
    }

    /** Route step: the Prometheus text exposition. */
    public String scrape(Exchange exchange) {
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        return registry.scrape();
    }
}
