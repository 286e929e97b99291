package dev.agentconfig.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import dev.agentconfig.observe.CheckResult;
import dev.agentconfig.observe.ServiceChecks;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local store's health checks: {@code localStore} (a probe file can be written durably: the store
 * takes saves), {@code backlog} (DOWN when the oldest pending save waits longer than
 * agentconfig.health.max-pending-age) and {@code quarantine} (DOWN while an entry is quarantined).
 */
public final class LocalStoreChecks {
    private static final Logger LOG = LoggerFactory.getLogger(LocalStoreChecks.class);
    public static final String NOT_WRITABLE = "not writable (see the service log)";

    private final LocalStore store;
    private final DrainProgress drain;
    private final Duration maxPendingAge;
    private final AtomicReference<String> loggedFailure = new AtomicReference<>();

    LocalStoreChecks(LocalStore store, DrainProgress drain, Duration maxPendingAge) {
        this.store = store;
        this.drain = drain;
        this.maxPendingAge = maxPendingAge;
    }

    static void register(CamelContext context, LocalStore store, DrainProgress drain, Duration maxPendingAge) {
        LocalStoreChecks checks = new LocalStoreChecks(store, drain, maxPendingAge);
        ServiceChecks.probed(context, List.of("localStore"), () -> List.of(checks.writable()), "localStore");
        ServiceChecks.computed(context, "backlog", checks::backlog);
        ServiceChecks.computed(context, "quarantine", checks::quarantine);
    }

    /**
     * A file of its own per probe (probes never share one), written with O_SYNC and removed. The
     * answer names no path and no exception (health is open); the log says what failed, once.
     */
    CheckResult writable() {
        Path probe = store.root().resolve(".health-probe-" + UUID.randomUUID());
        try {
            Files.createDirectories(store.root());
            Files.write(probe, new byte[] {1}, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    StandardOpenOption.SYNC);
            Files.delete(probe);
            if (loggedFailure.getAndSet(null) != null) {
                LOG.info("Health: the local store {} is writable again", store.root());
            }
            return CheckResult.up("localStore", "writable", Map.of());
        } catch (IOException | RuntimeException e) {
            String what = e.toString();
            if (!what.equals(loggedFailure.getAndSet(what))) {
                LOG.error("Health: the local store {} is not writable: {}", store.root(), what);
            }
            try {
                Files.deleteIfExists(probe);
            } catch (IOException | RuntimeException ignored) {
                // the directory itself is the problem; already logged
            }
            return CheckResult.down("localStore", NOT_WRITABLE, Map.of());
        }
    }

    /**
     * From the store's in-memory index and the drain's counts: a health check never reads every entry file.
     * While the backlog drains, {@code drain} says how far (drained, pending, percent, per second, ETA).
     */
    CheckResult backlog() {
        long pending = store.pendingCount();
        Duration oldest = store.oldestPending().map(t -> Duration.between(t, Instant.now())).orElse(Duration.ZERO);
        Optional<DrainProgress.Snapshot> draining = drain.current(pending);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("pending", pending);
        data.put("oldestPendingSeconds", oldest.toSeconds());
        data.put("maxPendingSeconds", maxPendingAge.toSeconds());
        data.put("drain", draining.map(DrainProgress.Snapshot::toMap).orElse(null));
        String progress = draining.map(d -> "; draining: " + d.drained() + " drained (" + d.percent() + " %)"
                + (d.perSecond() == null ? ", rate not measured yet"
                        : String.format(java.util.Locale.ROOT, ", %.0f/s, about %d s left", d.perSecond(), d.etaSeconds())))
                .orElse("");
        return oldest.compareTo(maxPendingAge) > 0
                ? CheckResult.down("backlog", pending + " pending, the oldest for " + oldest.toSeconds()
                        + " s (over " + maxPendingAge.toSeconds() + " s): the database is not taking them" + progress, data)
                : CheckResult.up("backlog", pending + " pending" + progress, data);
    }

    CheckResult quarantine() {
        long quarantined = store.quarantinedCount();
        return quarantined > 0
                ? CheckResult.down("quarantine", quarantined + " quarantined: the database refused them; "
                        + "see diagnostics, fix, then POST …/retry", Map.of("quarantined", quarantined))
                : CheckResult.up("quarantine", "none", Map.of("quarantined", 0));
    }
}
