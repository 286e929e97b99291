package dev.agentconfig.observe;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One of the service's checks as a Camel health check (group {@value ServiceChecks#GROUP}, id = the
 * name /observe/health shows). Its answer comes either from a probe it shares with the other checks
 * of the same feature, or from figures computed on the call.
 */
final class ServiceCheck extends AbstractHealthCheck {
    private static final Logger LOG = LoggerFactory.getLogger(ServiceCheck.class);
    /** Health is open: a check that failed says so without the exception's text. */
    private static final String FAILED = "the check failed (see the service log)";

    private final int order;
    private final SharedProbe<List<CheckResult>> probe;
    private final Supplier<CheckResult> computed;

    ServiceCheck(String name, int order, boolean takesSaves, SharedProbe<List<CheckResult>> probe,
                 Supplier<CheckResult> computed) {
        super(ServiceChecks.GROUP, name);
        this.order = order;
        this.probe = probe;
        this.computed = computed;
        if (takesSaves) {
            addMetaData(ServiceChecks.TAKES_SAVES, Boolean.TRUE);
        }
    }

    /** Registration order: /observe/health lists the checks as the features registered them. */
    @Override
    public int getOrder() {
        return order;
    }

    /** Readiness only: a restart mends none of these (a database, a disk, a backlog, a quarantine). */
    @Override
    public boolean isLiveness() {
        return false;
    }

    boolean takesSaves() {
        return Boolean.TRUE.equals(getMetaData().get(ServiceChecks.TAKES_SAVES));
    }

    /**
     * Takes this check's probe for one invocation of all checks, unless another check of the same
     * probe already did. Runs before Camel calls the checks: Camel holds a lock per check while it
     * calls it, and a probe run under that lock would serialize the callers instead of letting
     * overlapping ones share one run.
     */
    void prepare(Map<Object, List<CheckResult>> round) {
        if (probe != null) {
            round.computeIfAbsent(probe, p -> {
                try {
                    return probe.get();
                } catch (RuntimeException e) {
                    LOG.error("Health probe of {} failed", getId(), e);
                    return List.of(); // its checks answer DOWN
                }
            });
        }
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        CheckResult result;
        try {
            result = evaluate(options);
        } catch (RuntimeException e) {
            // health is open: the answer carries no exception text
            LOG.error("Health check {} failed", getId(), e);
            result = CheckResult.down(getId(), FAILED, Map.of());
        }
        builder.message(result.detail());
        result.data().forEach(builder::detail);
        // Camel keeps details unordered and adds its own: the answer shows these, in this order
        builder.detail(ServiceChecks.FIGURES, List.copyOf(result.data().keySet()));
        if (result.up()) {
            builder.up();
        } else {
            builder.down();
        }
    }

    private CheckResult evaluate(Map<String, Object> options) {
        if (probe == null) {
            return computed.get();
        }
        List<CheckResult> taken = options.get(ServiceChecks.ROUND) instanceof Map<?, ?> round
                && round.get(probe) instanceof List<?> list ? cast(list) : probe.get();
        // a probe may name a check twice (the database: a connection not valid, then its close failing):
        // the last word wins, as it always did in /observe/health
        return taken.stream().filter(c -> c.name().equals(getId())).reduce((first, last) -> last)
                .orElseGet(() -> CheckResult.down(getId(), FAILED, Map.of()));
    }

    @SuppressWarnings("unchecked")
    private static List<CheckResult> cast(List<?> list) {
        return (List<CheckResult>) list;
    }
}
