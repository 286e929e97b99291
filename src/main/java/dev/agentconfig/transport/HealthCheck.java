package dev.agentconfig.transport;

import java.util.Map;

/** One named check of /observe/health: UP or DOWN, a sentence, and figures. */
public record HealthCheck(String name, boolean up, String detail, Map<String, Object> data) {
    public static HealthCheck up(String name, String detail, Map<String, Object> data) {
        return new HealthCheck(name, true, detail, data);
    }

    public static HealthCheck down(String name, String detail, Map<String, Object> data) {
        return new HealthCheck(name, false, detail, data);
    }
}
