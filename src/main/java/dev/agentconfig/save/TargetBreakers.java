package dev.agentconfig.save;

import dev.agentconfig.core.Target;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.agentconfig.config.Settings;
import dev.agentconfig.transport.Backend;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.transport.FailureClassifier;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One circuit breaker per database target. Only transient failures count (bad data must not
 * open it). Once a breaker opens it is held open, and a background probe, not a user's save,
 * finds out when the database answers again: no request ever pays a half-open trial call
 * against a database that is still down.
 */
public final class TargetBreakers extends ServiceSupport {
    private static final Logger LOG = LoggerFactory.getLogger(TargetBreakers.class);

    private final CircuitBreaker profile;
    private final CircuitBreaker settings;
    private final Backend backend;
    private final Duration probeInterval;
    private ScheduledExecutorService probe;

    public TargetBreakers(Settings settings, FailureClassifier classifier, Backend backend) {
        this.profile = breaker(Target.USER_PROFILES.table(), settings, classifier);
        this.settings = breaker(Target.USER_SETTINGS.table(), settings, classifier);
        this.backend = backend;
        this.probeInterval = settings.breakerProbeInterval();
    }

    private static CircuitBreaker breaker(String name, Settings settings, FailureClassifier classifier) {
        CircuitBreakerConfig config = CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(settings.breakerWindow())
                .minimumNumberOfCalls(settings.breakerMinimumCalls())
                .failureRateThreshold(settings.breakerFailureRate())
                // a fallback only: the probe normally closes the breaker first
                .waitDurationInOpenState(settings.breakerOpenWait())
                .permittedNumberOfCallsInHalfOpenState(1)
                .recordException(e -> classifier.classify(e).failureClass() == FailureClass.TRANSIENT)
                .writableStackTraceEnabled(false)
                .build();
        CircuitBreaker breaker = CircuitBreaker.of(name, config);
        breaker.getEventPublisher().onStateTransition(e -> {
            LOG.warn("Circuit breaker {}: {}", name, e.getStateTransition());
            if (e.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
                breaker.transitionToForcedOpenState();
            }
        });
        return breaker;
    }

    public CircuitBreaker profile() {
        return profile;
    }

    public CircuitBreaker settings() {
        return settings;
    }

    public List<CircuitBreaker> all() {
        return List.of(profile, settings);
    }

    @Override
    protected void doStart() {
        probe = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "breaker-probe");
            t.setDaemon(true);
            return t;
        });
        long ms = probeInterval.toMillis();
        probe.scheduleWithFixedDelay(this::probeOnce, ms, ms, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
        if (probe != null) {
            probe.shutdownNow();
        }
    }

    /** Closes the held-open breakers when the database answers again. */
    void probeOnce() {
        List<CircuitBreaker> held = all().stream()
                .filter(b -> b.getState() == CircuitBreaker.State.FORCED_OPEN || b.getState() == CircuitBreaker.State.OPEN)
                .toList();
        if (held.isEmpty()) {
            return;
        }
        // the database (jdbc) or PostgREST and its database (rest) answers: let calls through again
        if (backend.reachable()) {
            for (CircuitBreaker b : held) {
                b.transitionToClosedState();
            }
        }
    }
}
