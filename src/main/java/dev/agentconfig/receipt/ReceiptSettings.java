package dev.agentconfig.receipt;

import java.time.Duration;
import java.time.Instant;

import dev.agentconfig.config.Settings;
import org.apache.camel.CamelContext;

/**
 * How long a save's receipt can be asked for (agentconfig.receipts.*, config/application.properties).
 *
 * @param retention a receipt is answered for this long after its save (agentconfig.receipts.retention, 720 h: 30 days):
 *                  its audit rows older than this are not asked; they stay in audit_log for the operator
 */
public record ReceiptSettings(Duration retention) {

    public ReceiptSettings {
        if (retention.isNegative() || retention.isZero()) {
            throw new IllegalStateException("agentconfig.receipts.retention must be positive");
        }
    }

    public static ReceiptSettings from(CamelContext context) {
        return new ReceiptSettings(Settings.duration(context.getPropertiesComponent()
                .resolveProperty("agentconfig.receipts.retention").map(String::trim).filter(v -> !v.isEmpty())
                .orElse("720h")));
    }

    /** Rows older than this are not asked at {@code now}. */
    public Instant notBefore(Instant now) {
        return now.minus(retention);
    }
}
