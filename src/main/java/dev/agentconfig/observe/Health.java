package dev.agentconfig.observe;

import dev.agentconfig.transport.HealthCheck;

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
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import dev.agentconfig.config.Settings;
import dev.agentconfig.transport.Backend;
import dev.agentconfig.store.LocalStore;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * /observe/health. Overall UP only when every check is UP. DOWN means an operator should look:
 * the answer names what is wrong. `acceptingSaves` says whether a save can still be
 * acknowledged (the database or the local store takes it), which is what a load balancer needs.
 * Health is open (no token): the answer names no file path and carries no exception text; the
 * service log has the details.
 */
public final class Health {
    private static final Logger LOG = LoggerFactory.getLogger(Health.class);
    public static final String NOT_WRITABLE = "not writable (see the service log)";

    private final Backend backend;
    private final LocalStore localStore;
    private final Duration maxPendingAge;
    /**
     * The checks that touch the database and the disk, run once at a time however many probes
     * arrive (health is open: a flood must neither starve the saves of pool connections nor make
     * probes disagree) and reused for agentconfig.health.cache-ttl.
     */
    private final SharedProbe<List<HealthCheck>> io;
    private final AtomicReference<String> loggedStoreFailure = new AtomicReference<>();
    private final List<java.util.function.Supplier<HealthCheck>> others;

    public Health(Backend backend, LocalStore localStore, Duration maxPendingAge) {
        this(backend, localStore, maxPendingAge, Duration.ZERO);
    }

    public Health(Backend backend, LocalStore localStore, Duration maxPendingAge, Duration cacheTtl) {
        this(backend, localStore, maxPendingAge, cacheTtl, List.of());
    }

    /** @param others cheap checks of other features (no I/O per call: keys), asked on every probe */
    public Health(Backend backend, LocalStore localStore, Duration maxPendingAge, Duration cacheTtl,
                  List<java.util.function.Supplier<HealthCheck>> others) {
        this.backend = backend;
        this.localStore = localStore;
        this.maxPendingAge = maxPendingAge;
        this.io = new SharedProbe<>(this::probe, cacheTtl);
        this.others = List.copyOf(others);
    }

    /** agentconfig.health.cache-ttl (default 1s): how long one probe's result answers every health request. */
    public static Duration cacheTtl(CamelContext context) {
        return Settings.duration(context.getPropertiesComponent().resolveProperty("agentconfig.health.cache-ttl")
                .map(String::trim).filter(v -> !v.isEmpty()).orElse("1s"));
    }

    public List<HealthCheck> checks() {
        List<HealthCheck> checks = new ArrayList<>(io.get());
        checks.addAll(backlog());
        others.forEach(o -> checks.add(o.get()));
        return checks;
    }

    private List<HealthCheck> probe() {
        List<HealthCheck> checks = new ArrayList<>(backend.healthChecks());
        checks.add(localStoreWritable());
        return List.copyOf(checks);
    }

    /**
     * A file of its own per probe (probes never share one), written with O_SYNC and removed. The
     * answer names no path and no exception (health is open); the log says what failed, once.
     */
    private HealthCheck localStoreWritable() {
        Path probe = localStore.root().resolve(".health-probe-" + UUID.randomUUID());
        try {
            Files.createDirectories(localStore.root());
            Files.write(probe, new byte[] {1}, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    StandardOpenOption.SYNC);
            Files.delete(probe);
            if (loggedStoreFailure.getAndSet(null) != null) {
                LOG.info("Health: the local store {} is writable again", localStore.root());
            }
            return HealthCheck.up("localStore", "writable", Map.of());
        } catch (IOException | RuntimeException e) {
            String what = e.toString();
            if (!what.equals(loggedStoreFailure.getAndSet(what))) {
                LOG.error("Health: the local store {} is not writable: {}", localStore.root(), what);
            }
            try {
                Files.deleteIfExists(probe);
            } catch (IOException | RuntimeException ignored) {
                // the directory itself is the problem; already logged
            }
            return HealthCheck.down("localStore", NOT_WRITABLE, Map.of());
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
