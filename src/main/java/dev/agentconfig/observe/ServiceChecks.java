package dev.agentconfig.observe;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import dev.agentconfig.config.Settings;
import org.apache.camel.CamelContext;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;
import org.apache.camel.health.HealthCheckRegistry;

/**
 * The service's own checks in Camel's health-check registry, group {@value #GROUP}: each feature
 * registers its checks here when it is configured (the database's, PostgREST's, the local store's),
 * so they show wherever Camel's health checks show (HealthCheckHelper, JMX, the developer console),
 * and /observe/health answers them ({@link Health}). Camel's own checks (context, routes, consumers)
 * stay in the registry but are not part of that answer.
 */
public final class ServiceChecks {
    /** The health-check group of the service's checks. */
    public static final String GROUP = "agentconfig";
    /** Metadata of a check whose UP says a save can be acknowledged (the database takes it, or the local store). */
    static final String TAKES_SAVES = "agentconfig.takesSaves";
    /** Detail of a result: the names of the check's own figures, in their order. */
    static final String FIGURES = "agentconfig.figures";
    /** Option of one invocation of all checks: the probes' results taken for it. */
    static final String ROUND = "agentconfig.round";

    private ServiceChecks() {
    }

    /**
     * Checks answered together by one probe (the database's reachability, then its schema). The probe
     * touches the database or the disk, and health is open: it runs once at a time however many callers
     * ask (a flood must neither starve the saves of pool connections nor make answers disagree) and one
     * result answers for agentconfig.health.cache-ttl ({@link SharedProbe}). Each name becomes a check.
     *
     * @param takesSaves the name whose UP says the database (or the store) takes saves, or null
     */
    public static void probed(CamelContext context, List<String> names, Supplier<List<CheckResult>> probe,
                              String takesSaves) {
        SharedProbe<List<CheckResult>> shared = new SharedProbe<>(probe, cacheTtl(context));
        for (String name : names) {
            register(context, new ServiceCheck(name, order(context), name.equals(takesSaves), shared, null));
        }
    }

    /** A check computed on every call from figures held in memory (no I/O). */
    public static void computed(CamelContext context, String name, Supplier<CheckResult> check) {
        register(context, new ServiceCheck(name, order(context), false, null, check));
    }

    /** agentconfig.health.cache-ttl (default 1s): how long one probe's result answers every caller. */
    static Duration cacheTtl(CamelContext context) {
        return Settings.duration(context.getPropertiesComponent().resolveProperty("agentconfig.health.cache-ttl")
                .map(String::trim).filter(v -> !v.isEmpty()).orElse("1s"));
    }

    /**
     * Calls every check of the group once through Camel's API, in registration order. The probes run
     * first, once each (shared with overlapping callers), and the checks read their parts of them.
     */
    static Collection<HealthCheck.Result> invoke(CamelContext context) {
        Map<Object, List<CheckResult>> round = new HashMap<>();
        registry(context).stream().filter(ServiceCheck.class::isInstance).map(ServiceCheck.class::cast)
                .sorted(java.util.Comparator.comparingInt(ServiceCheck::getOrder))
                .forEach(check -> check.prepare(round));
        Map<String, Object> options = Map.of(ROUND, round);
        // "full": every result (Camel's default exposure level keeps only the DOWN ones)
        return HealthCheckHelper.invoke(context, check -> options, check -> !GROUP.equals(check.getGroup()), "full");
    }

    private static void register(CamelContext context, ServiceCheck check) {
        check.setCamelContext(context);
        if (!registry(context).register(check)) {
            throw new IllegalStateException("health check '" + check.getId() + "' is registered twice");
        }
    }

    private static int order(CamelContext context) {
        return (int) registry(context).stream().filter(c -> GROUP.equals(c.getGroup())).count();
    }

    private static HealthCheckRegistry registry(CamelContext context) {
        HealthCheckRegistry registry = HealthCheckRegistry.get(context);
        if (registry == null) {
            throw new IllegalStateException("Camel's health-check registry is missing (camel-health, "
                    + "camel.health.enabled=true): /observe/health is built from it");
        }
        return registry;
    }
}
