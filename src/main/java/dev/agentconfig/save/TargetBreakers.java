package dev.agentconfig.save;

import dev.agentconfig.core.Target;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.agentconfig.config.Settings;
import dev.agentconfig.transport.Backend;
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
    private final List<Runnable> onReachable = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** A failure came while the probe was rate-limited: the probe thread examines it on its next round. */
    private final java.util.concurrent.atomic.AtomicBoolean suspect = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.concurrent.atomic.AtomicLong lastTripProbe = new java.util.concurrent.atomic.AtomicLong(
            System.nanoTime() - Duration.ofDays(1).toNanos());
    private ScheduledExecutorService probe;
    /** Since when a breaker is held open (the database out of reach), null while they are closed. */
    private final java.util.concurrent.atomic.AtomicReference<java.time.Instant> openSince =
            new java.util.concurrent.atomic.AtomicReference<>();

    public TargetBreakers(Settings settings, FailureClassifier classifier, Backend backend) {
        this.profile = breaker(Target.USER_PROFILES.table(), settings, classifier);
        this.settings = breaker(Target.USER_SETTINGS.table(), settings, classifier);
        this.backend = backend;
        this.probeInterval = settings.breakerProbeInterval();
        for (CircuitBreaker b : all()) {
            b.getEventPublisher().onStateTransition(e -> {
                CircuitBreaker.State to = e.getStateTransition().getToState();
                if (to == CircuitBreaker.State.OPEN || to == CircuitBreaker.State.FORCED_OPEN) {
                    openSince.compareAndSet(null, Instant.now());
                }
            });
        }
    }

    /** Since when the database is out of reach (a breaker held open), if it is. */
    public Optional<Instant> openSince() {
        return Optional.ofNullable(openSince.get());
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
                // what counts is the failure's own decision (core/Failure#countsAgainstBreaker)
                .recordException(e -> classifier.classify(e).countsAgainstBreaker())
                .writableStackTraceEnabled(false)
                .build();
        CircuitBreaker breaker = CircuitBreaker.of(name, config);
        breaker.getEventPublisher().onStateTransition(e -> {
            CircuitBreaker.State to = e.getStateTransition().getToState();
            if (to == CircuitBreaker.State.OPEN) {
                LOG.warn("Circuit breaker {}: open; saves park in the local store until the database answers", name);
                breaker.transitionToForcedOpenState();
            } else if (to == CircuitBreaker.State.FORCED_OPEN && e.getStateTransition().getFromState()
                    != CircuitBreaker.State.OPEN) {
                LOG.warn("Circuit breaker {}: open (the database is out of reach); saves park in the local store "
                        + "until it answers", name);
            } else if (to == CircuitBreaker.State.CLOSED) {
                // the return itself is logged once, by the probe that closed the breakers
                LOG.debug("Circuit breaker {}: closed, the database answers again", name);
            } else {
                LOG.debug("Circuit breaker {}: {}", name, e.getStateTransition());
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

    /**
     * A failure that may mean the database is gone (a refused connection, the server shutting down, no pool
     * connection in time, PostgREST without its database): the probe is asked (on its own connection, at
     * most once per probe interval), and if the database does not answer every breaker opens at once, so
     * the next saves park at once instead of each waiting for a connection that will not come. The probe
     * closes them again when the database answers.
     */
    public void tripIfUnreachable(dev.agentconfig.core.Failure failure) {
        if (!failure.perhapsUnreachable() || failure.breakerOpen() || allOpen()) {
            return;
        }
        long now = System.nanoTime();
        long last = lastTripProbe.get();
        if (now - last < probeInterval.toNanos() || !lastTripProbe.compareAndSet(last, now)) {
            // asked less than a probe interval ago: the probe thread asks again on its next round, so this
            // failure is never left unexamined (it may be the first and only one of an outage)
            suspect.set(true);
            return;
        }
        suspect.set(false);
        examine();
    }

    /**
     * Asks the probe: the database gone opens every breaker (and the probe closes them, with a pass at once,
     * when it answers again). The database answering means the failure was passing: its save drains with the
     * next pass.
     */
    private void examine() {
        if (!backend.reachable()) {
            for (CircuitBreaker b : all()) {
                if (b.getState() != CircuitBreaker.State.FORCED_OPEN) {
                    b.transitionToForcedOpenState();
                }
            }
            backend.forgetConnections();
        }
    }

    private static void run(List<Runnable> actions, String when) {
        for (Runnable r : actions) {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.warn("{}: {}", when, e.toString());
            }
        }
    }

    private boolean allOpen() {
        return all().stream().allMatch(b -> b.getState() == CircuitBreaker.State.FORCED_OPEN
                || b.getState() == CircuitBreaker.State.OPEN);
    }

    /** Runs when the probe found the database back and closed the breakers (e.g. a sync pass at once). */
    public void onReachable(Runnable action) {
        onReachable.add(action);
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
        if (suspect.getAndSet(false) && !allOpen()) {
            lastTripProbe.set(System.nanoTime());
            examine();
            return; // asked this round already: the held breakers, if it opened them, are for the next one
        }
        List<CircuitBreaker> held = all().stream()
                .filter(b -> b.getState() == CircuitBreaker.State.FORCED_OPEN || b.getState() == CircuitBreaker.State.OPEN)
                .toList();
        if (held.isEmpty()) {
            return;
        }
        // the database (jdbc) or PostgREST and its database (rest) answers: let calls through again
        if (backend.reachable()) {
            // connections from before the outage are dead: new ones, before the saves and the drain need them
            backend.reconnect();
            for (CircuitBreaker b : held) {
                b.transitionToClosedState();
            }
            Instant since = openSince.getAndSet(null);
            LOG.info("The database is reachable again{}; circuit breakers closed, saves go to the database",
                    since == null ? "" : " (out of reach since " + since + ")");
            run(onReachable, "After the database came back");
        }
    }
}
