package dev.agentconfig.audit;

import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/** One audit row. Details hold names, ids, classes and codes; never a secret. */
public record AuditEvent(Instant at, String event, String tenantId, UUID userId, boolean success,
                         Map<String, Object> details) {
}
