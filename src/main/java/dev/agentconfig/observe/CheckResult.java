package dev.agentconfig.observe;

import java.util.Map;

/**
 * What one named check of /observe/health found: UP or DOWN, a sentence, and figures. A feature's
 * probe returns these; {@link ServiceChecks} turns each name into a Camel health check. The figures'
 * names are plain words without dots (Camel's own result details are dotted: check.id, invocation.count).
 */
public record CheckResult(String name, boolean up, String detail, Map<String, Object> data) {
    public static CheckResult up(String name, String detail, Map<String, Object> data) {
        return new CheckResult(name, true, detail, data);
    }

    public static CheckResult down(String name, String detail, Map<String, Object> data) {
        return new CheckResult(name, false, detail, data);
    }
}
