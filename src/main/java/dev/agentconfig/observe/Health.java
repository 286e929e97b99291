package dev.agentconfig.observe;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.agentconfig.db.Backend;
import dev.agentconfig.store.LocalStore;
import org.apache.camel.Exchange;

/**
 * /observe/health. Overall UP only when every check is UP. DOWN means an operator should look:
 * the answer names what is wrong. `acceptingSaves` says whether a save can still be
 * acknowledged (the database or the local store takes it), which is what a load balancer needs.
 */
public final class Health {
    private final Backend backend;
    private final LocalStore localStore;
    private final Duration maxPendingAge;

    public Health(Backend backend, LocalStore localStore, Duration maxPendingAge) {
        this.backend = backend;
        this.localStore = localStore;
        this.maxPendingAge = maxPendingAge;
    }

    public List<HealthCheck> checks() {
        List<HealthCheck> checks = new ArrayList<>(backend.healthChecks());
        checks.add(localStoreWritable());
        checks.addAll(backlog());
        return checks;
    }

    private HealthCheck localStoreWritable() {
        Path probe = localStore.root().resolve(".health-probe");
        try {
            Files.createDirectories(localStore.root());
            Files.write(probe, new byte[] {1}, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE, StandardOpenOption.SYNC);
            Files.delete(probe);
            return HealthCheck.up("localStore", "writable", Map.of("path", localStore.root().toString()));
        } catch (IOException | RuntimeException e) {
            return HealthCheck.down("localStore", "not writable: " + e, Map.of("path", localStore.root().toString()));
        }
    }

    /** From the local store's in-memory index: a health check never reads every entry file. */
    private List<HealthCheck> backlog() {
        Instant now = Instant.now();
        long pending = localStore.pendingCount();
        long quarantined = localStore.quarantinedCount();
        Duration oldest = localStore.oldestPending().map(t -> Duration.between(t, now)).orElse(Duration.ZERO);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("pending", pending);
        data.put("oldestPendingSeconds", oldest.toSeconds());
        data.put("maxPendingSeconds", maxPendingAge.toSeconds());
        HealthCheck backlog = oldest.compareTo(maxPendingAge) > 0
                ? HealthCheck.down("backlog", pending + " pending, the oldest for " + oldest.toSeconds()
                        + " s (over " + maxPendingAge.toSeconds() + " s): the database is not taking them", data)
                : HealthCheck.up("backlog", pending + " pending", data);
        HealthCheck quarantine = quarantined > 0
                ? HealthCheck.down("quarantine", quarantined + " quarantined: the database refused them; "
                        + "see diagnostics, fix, then POST …/retry", Map.of("quarantined", quarantined))
                : HealthCheck.up("quarantine", "none", Map.of("quarantined", 0));
        return List.of(backlog, quarantine);
    }

    /** Route step: the health answer, 200 when UP and 503 when DOWN. */
    public Map<String, Object> report(Exchange exchange) {
        List<HealthCheck> checks = checks();
        boolean up = checks.stream().allMatch(HealthCheck::up);
        boolean dbUp = checks.stream().anyMatch(c -> c.name().equals(backend.reachabilityCheck()) && c.up());
        boolean storeUp = checks.stream().anyMatch(c -> c.name().equals("localStore") && c.up());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", up ? "UP" : "DOWN");
        body.put("acceptingSaves", dbUp || storeUp);
        Map<String, Object> byName = new LinkedHashMap<>();
        for (HealthCheck c : checks) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("status", c.up() ? "UP" : "DOWN");
            one.put("detail", c.detail());
            one.putAll(c.data());
            byName.put(c.name(), one);
        }
        body.put("checks", byName);
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, up ? 200 : 503);
        return body;
    }
}
