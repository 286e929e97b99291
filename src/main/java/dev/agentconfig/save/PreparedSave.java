package dev.agentconfig.save;

import java.util.UUID;

/** A save ready for the stores: saveId and version assigned, the key sealed in its envelope. */
public record PreparedSave(String tenantId, UUID userId, UUID saveId, long version, Changes sealed) {
}
