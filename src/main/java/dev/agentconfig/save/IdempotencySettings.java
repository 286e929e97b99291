package dev.agentconfig.save;

import java.time.Duration;
import java.time.Instant;

import dev.agentconfig.config.Settings;
import org.apache.camel.CamelContext;

/**
 * How long and how many Idempotency-Keys are remembered (agentconfig.save.*, config/application.properties).
 *
 * @param ttl     a key is known for this long from its first use (agentconfig.save.idempotency-ttl, 24 h)
 * @param perUser at most this many keys per user, the oldest dropped first (agentconfig.save.idempotency-per-user)
 */
public record IdempotencySettings(Duration ttl, int perUser) {

    public IdempotencySettings {
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalStateException("agentconfig.save.idempotency-ttl must be positive");
        }
        if (perUser < 1) {
            throw new IllegalStateException("agentconfig.save.idempotency-per-user must be at least 1");
        }
    }

    public static IdempotencySettings from(CamelContext context) {
        var properties = context.getPropertiesComponent();
        return new IdempotencySettings(
                Settings.duration(properties.resolveProperty("agentconfig.save.idempotency-ttl").map(String::trim)
                        .filter(v -> !v.isEmpty()).orElse("24h")),
                Integer.parseInt(properties.resolveProperty("agentconfig.save.idempotency-per-user").map(String::trim)
                        .filter(v -> !v.isEmpty()).orElse("1000")));
    }

    /** A key first used before this is forgotten at {@code now}. */
    public Instant notBefore(Instant now) {
        return now.minus(ttl);
    }
}
