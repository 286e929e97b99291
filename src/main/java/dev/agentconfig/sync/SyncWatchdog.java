package dev.agentconfig.sync;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import dev.agentconfig.observe.CheckResult;
import dev.agentconfig.store.LocalStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.ServiceStatus;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A queue that stops retrying and nobody notices: the watchdog notices. Every agentconfig.sync.watchdog.period
 * it looks, on a thread of its own (not a Camel timer: it must outlive the sync's), at the sync's timer route
 * {@value #TIMER_ROUTE} and at the last pass: when the route is stopped or suspended (its timer cancelled), or
 * entries are due and no pass began for agentconfig.sync.watchdog.stall-intervals intervals, it starts the
 * route again (stopped first when it claims to be running) and asks for a pass now; logged (WARN) and counted
 * ({@code agentconfig.sync.watchdog.restarts}). The health check {@code sync} is DOWN, with the reason, while
 * the sync is found so.
 */
public final class SyncWatchdog extends ServiceSupport {
    private static final Logger LOG = LoggerFactory.getLogger(SyncWatchdog.class);
    public static final String TIMER_ROUTE = "sync-local-store";

    private final CamelContext context;
    private final SyncPass pass;
    private final LocalStore store;
    private final SyncTrigger trigger;
    private final Duration interval;
    private final SyncWatchdogSettings settings;
    private final Clock clock;
    private final Counter restarts;
    private final AtomicLong restarted = new AtomicLong();
    private final Instant startedAt;
    private volatile ScheduledExecutorService executor;
    private volatile String lastRestart;

    public SyncWatchdog(CamelContext context, SyncPass pass, LocalStore store, SyncTrigger trigger, Duration interval,
                        SyncWatchdogSettings settings, MeterRegistry meters, Clock clock) {
        this.context = context;
        this.pass = pass;
        this.store = store;
        this.trigger = trigger;
        this.interval = interval;
        this.settings = settings;
        this.clock = clock;
        this.startedAt = clock.instant();
        this.restarts = Counter.builder("agentconfig.sync.watchdog.restarts")
                .description("times the watchdog restarted a sync whose timer was lost or that stalled")
                .register(meters);
    }

    /** No pass for this long while entries are due: stalled. */
    Duration stallAfter() {
        return interval.multipliedBy(settings.stallIntervals());
    }

    /** What is wrong with the sync now, or null when nothing is. */
    String problem() {
        if (!context.getStatus().isStarted()) {
            return null; // starting or stopping: the routes are the context's
        }
        ServiceStatus route = context.getRouteController().getRouteStatus(TIMER_ROUTE);
        if (route == ServiceStatus.Stopped || route == ServiceStatus.Suspended) {
            return "the sync's timer is " + route.name().toLowerCase(Locale.ROOT);
        }
        Instant now = clock.instant();
        Instant last = pass.lastStarted().orElse(startedAt);
        Duration since = Duration.between(last, now);
        if (since.compareTo(stallAfter()) > 0 && !store.dueKeys(now).isEmpty()) {
            return "entries are due and no sync pass began for " + since.toSeconds() + " s (over "
                    + stallAfter().toSeconds() + " s, " + settings.stallIntervals() + " intervals)";
        }
        return null;
    }

    /** One look: restarts the sync when it is found lost or stalled. */
    void check() {
        String problem = problem();
        if (problem == null) {
            return;
        }
        LOG.warn("Sync watchdog: {} (route {}); restarting it ({} pending, {} quarantined)", problem, TIMER_ROUTE,
                store.pendingCount(), store.quarantinedCount());
        try {
            var routes = context.getRouteController();
            ServiceStatus status = routes.getRouteStatus(TIMER_ROUTE);
            if (status == ServiceStatus.Suspended) {
                routes.resumeRoute(TIMER_ROUTE);
            } else {
                if (status == ServiceStatus.Started) {
                    routes.stopRoute(TIMER_ROUTE, 5, TimeUnit.SECONDS); // a timer that stopped firing: a new one
                }
                routes.startRoute(TIMER_ROUTE);
            }
            trigger.request("the sync watchdog restarted the sync");
            restarts.increment();
            restarted.incrementAndGet();
            lastRestart = clock.instant() + ": " + problem;
        } catch (Exception e) {
            LOG.error("Sync watchdog: the sync could not be restarted: {}", e.toString());
        }
    }

    /** The health check "sync": DOWN while the sync is found lost or stalled, with the reason. */
    public CheckResult health() {
        String problem = problem();
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("lastPassAt", pass.lastStarted().map(Instant::toString).orElse(null));
        data.put("watchdogRestarts", restarted.get());
        data.put("lastRestart", lastRestart);
        if (problem != null) {
            return CheckResult.down("sync", problem + "; the watchdog restarts it", data);
        }
        return CheckResult.up("sync", pass.lastStarted().map(t -> "last pass "
                + Duration.between(t, clock.instant()).toSeconds() + " s ago").orElse("no pass yet"), data);
    }

    @Override
    protected void doStart() {
        executor = context.getExecutorServiceManager().newSingleThreadScheduledExecutor(this, "sync-watchdog");
        long ms = settings.period().toMillis();
        executor.scheduleWithFixedDelay(() -> {
            try {
                check();
            } catch (RuntimeException e) {
                LOG.warn("Sync watchdog: {}", e.toString());
            }
        }, ms, ms, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
        ScheduledExecutorService e = executor;
        if (e != null) {
            context.getExecutorServiceManager().shutdownNow(e);
        }
    }
}
