package dev.agentconfig.receipt;

import java.time.Duration;

import dev.agentconfig.config.Settings;
import org.apache.camel.CamelContext;

/**
 * How much of the values that lost is kept per user (agentconfig.history.*, config/application.properties).
 *
 * @param perUser   at most this many changes per user, the oldest dropped first (agentconfig.history.per-user, 100)
 * @param retention none older than this (agentconfig.history.retention, 720 h: 30 days)
 */
public record HistorySettings(int perUser, Duration retention) {

    public HistorySettings {
        if (perUser < 1) {
            throw new IllegalStateException("agentconfig.history.per-user must be at least 1");
        }
        if (retention.isNegative() || retention.isZero()) {
            throw new IllegalStateException("agentconfig.history.retention must be positive");
        }
    }

    public static HistorySettings from(CamelContext context) {
        var p = context.getPropertiesComponent();
        return new HistorySettings(
                Integer.parseInt(p.resolveProperty("agentconfig.history.per-user").map(String::trim)
                        .filter(v -> !v.isEmpty()).orElse("100")),
                Settings.duration(p.resolveProperty("agentconfig.history.retention").map(String::trim)
                        .filter(v -> !v.isEmpty()).orElse("720h")));
    }
}
