package dev.agentconfig.observe;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.health.HealthCheck;

/**
 * /observe/health, built from Camel's health-check registry: the service's checks (group
 * {@value ServiceChecks#GROUP}, registered by each feature). Overall UP only when every check is UP.
 * DOWN means an operator should look: the answer names what is wrong. `acceptingSaves` says whether
 * a save can still be acknowledged (the database or the local store takes it), which is what a load
 * balancer needs. Health is open (no token): the answer names no file path and carries no exception
 * text; the service log has the details.
 */
public final class Health {
    private final CamelContext context;

    public Health(CamelContext context) {
        this.context = context;
    }

    /** Route step (an HTTP edge: it sets the status): the health answer, 200 when UP and 503 when DOWN. */
    public Map<String, Object> report(Exchange exchange) {
        Collection<HealthCheck.Result> results = ServiceChecks.invoke(context);
        boolean up = !results.isEmpty() && results.stream().allMatch(Health::up);
        boolean acceptingSaves = results.stream().anyMatch(r -> up(r)
                && r.getCheck() instanceof ServiceCheck check && check.takesSaves());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", up ? "UP" : "DOWN");
        body.put("acceptingSaves", acceptingSaves);
        Map<String, Object> byName = new LinkedHashMap<>();
        for (HealthCheck.Result r : results) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("status", up(r) ? "UP" : "DOWN");
            one.put("detail", r.getMessage().orElse(""));
            // the check's own figures, not Camel's bookkeeping (check.id, invocation.count, ...)
            if (r.getDetails().get(ServiceChecks.FIGURES) instanceof List<?> figures) {
                figures.forEach(name -> one.put(String.valueOf(name), r.getDetails().get(String.valueOf(name))));
            } else {
                // a check another feature wrote as a plain Camel health check (the Kafka door's): its
                // details without Camel's dotted bookkeeping, in name order
                new java.util.TreeMap<>(r.getDetails()).forEach((k, v) -> {
                    if (!k.contains(".")) {
                        one.put(k, v);
                    }
                });
            }
            byName.put(r.getCheck().getId(), one);
        }
        body.put("checks", byName);
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, up ? 200 : 503);
        return body;
    }

    private static boolean up(HealthCheck.Result r) {
        return r.getState() == HealthCheck.State.UP;
    }
}
