package dev.agentconfig.sync;

import java.time.Duration;
import java.util.function.Function;

import dev.agentconfig.config.Settings;
import org.apache.camel.CamelContext;

/**
 * The sync's own configuration keys (agentconfig.sync.*, config/application.properties).
 *
 * @param backoffBase      first delay after a failed replay; doubles with every further attempt
 * @param backoffMax       the cap of that delay (jitter included)
 * @param parallelism      batches replayed at once within a pass
 * @param batchSize        entries replayed together in one transaction (agentconfig.sync.batch-size, default
 *                         200) on the jdbc transport; over PostgREST every entry is its own batch (one request
 *                         per target, as a save), so parallelism still applies per entry
 * @param haltAfterDbWrite fault injection for the crash test only: Runtime.halt after a replay's
 *                         database write and before its entry is settled. Never set in production.
 */
public record SyncSettings(Duration interval, Duration backoffBase, Duration backoffMax, int parallelism,
                           int batchSize, boolean haltAfterDbWrite) {
    static final int DEFAULT_BATCH_SIZE = 200;

    public static SyncSettings from(CamelContext context) {
        Function<String, String> get = key -> context.getPropertiesComponent().resolveProperty(key)
                .map(String::trim)
                .filter(v -> !v.isEmpty())
                .orElseThrow(() -> new IllegalStateException("configuration key " + key + " is required"));
        int parallelism = Integer.parseInt(get.apply("agentconfig.sync.parallelism"));
        if (parallelism < 1) {
            throw new IllegalStateException("agentconfig.sync.parallelism must be at least 1");
        }
        int batchSize = context.getPropertiesComponent().resolveProperty("agentconfig.sync.batch-size")
                .map(String::trim).filter(v -> !v.isEmpty()).map(Integer::parseInt).orElse(DEFAULT_BATCH_SIZE);
        if (batchSize < 1) {
            throw new IllegalStateException("agentconfig.sync.batch-size must be at least 1");
        }
        if (dev.agentconfig.config.Beans.settings(context).restTransport()) {
            batchSize = 1;
        }
        return new SyncSettings(
                Settings.duration(get.apply("agentconfig.sync.interval")),
                Settings.duration(get.apply("agentconfig.sync.backoff-base")),
                Settings.duration(get.apply("agentconfig.sync.backoff-max")),
                parallelism,
                batchSize,
                Boolean.parseBoolean(get.apply("agentconfig.sync.fault.halt-after-db-write")));
    }
}
