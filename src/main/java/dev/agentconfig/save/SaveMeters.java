package dev.agentconfig.save;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The save's meters: outcomes by target, refusals by status, the time to answer a save, and the
 * state of each target's breaker. Counters are kept by their tags so the hot path does not look
 * them up in the registry.
 */
public final class SaveMeters {
    private final MeterRegistry registry;
    private final Timer latency;
    private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();

    public SaveMeters(MeterRegistry registry, TargetBreakers breakers) {
        this.registry = registry;
        this.latency = Timer.builder("agentconfig.save.duration")
                .description("time to answer a save, whatever the outcome")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry);
        for (CircuitBreaker b : breakers.all()) {
            for (CircuitBreaker.State state : new CircuitBreaker.State[] {CircuitBreaker.State.CLOSED,
                    CircuitBreaker.State.OPEN, CircuitBreaker.State.FORCED_OPEN, CircuitBreaker.State.HALF_OPEN}) {
                Gauge.builder("agentconfig.circuit.breaker.state", b, x -> x.getState() == state ? 1 : 0)
                        .description("1 for the breaker's current state")
                        .tag("target", b.getName())
                        .tag("state", state.name().toLowerCase(Locale.ROOT))
                        .register(registry);
            }
        }
    }

    /** One save outcome for one target (saved, stale, queued, quarantined, skipped). */
    public void outcome(String target, String outcome) {
        counters.computeIfAbsent("saves/" + target + "/" + outcome, k -> Counter.builder("agentconfig.saves")
                .description("save outcomes by target")
                .tag("target", target)
                .tag("outcome", outcome)
                .register(registry)).increment();
    }

    /** A save refused before or instead of reaching the stores, by HTTP status. */
    public void refused(int status) {
        counters.computeIfAbsent("refused/" + status, k -> Counter.builder("agentconfig.saves.refused")
                .description("saves refused (400, 409, 503, ...) by status")
                .tag("status", String.valueOf(status))
                .register(registry)).increment();
    }

    public void latency(Duration d) {
        latency.record(d);
    }
}
