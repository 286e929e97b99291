package dev.agentconfig.sync;

import java.time.Duration;

import dev.agentconfig.config.Settings;
import org.apache.camel.CamelContext;

/**
 * The sync watchdog's keys (agentconfig.sync.watchdog.*, config/application.properties).
 *
 * @param period         how often the watchdog looks (agentconfig.sync.watchdog.period, 5 s)
 * @param stallIntervals entries are due and no pass began for this many sync intervals: the sync is stalled
 *                       (agentconfig.sync.watchdog.stall-intervals, 3)
 */
public record SyncWatchdogSettings(Duration period, int stallIntervals) {

    public SyncWatchdogSettings {
        if (period.isNegative() || period.isZero()) {
            throw new IllegalStateException("agentconfig.sync.watchdog.period must be positive");
        }
        if (stallIntervals < 1) {
            throw new IllegalStateException("agentconfig.sync.watchdog.stall-intervals must be at least 1");
        }
    }

    public static SyncWatchdogSettings from(CamelContext context) {
        var p = context.getPropertiesComponent();
        return new SyncWatchdogSettings(
                Settings.duration(p.resolveProperty("agentconfig.sync.watchdog.period").map(String::trim)
                        .filter(v -> !v.isEmpty()).orElse("5s")),
                Integer.parseInt(p.resolveProperty("agentconfig.sync.watchdog.stall-intervals").map(String::trim)
                        .filter(v -> !v.isEmpty()).orElse("3")));
    }
}
