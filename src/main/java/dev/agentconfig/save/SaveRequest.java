package dev.agentconfig.save;

import dev.agentconfig.core.Changes;
import java.util.Optional;
import java.util.UUID;

/** A validated save, still holding the plaintext key: lives only until it is sealed. */
public record SaveRequest(String tenantId, UUID userId, Changes changes, Optional<String> idempotencyKey) {
    @Override
    public String toString() {
        return "SaveRequest[" + tenantId + "/" + userId + " " + changes + "]";
    }
}
