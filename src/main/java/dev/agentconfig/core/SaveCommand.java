package dev.agentconfig.core;

import java.time.Instant;
import java.util.Optional;

/**
 * One save as a front door received it, still holding the plaintext key: it lives only until it is
 * sealed. Built once per front door, which alone decides whose configuration it is.
 *
 * @param editedAt       the moment of the edit when the sender knows it (an offline browser, a
 *                       message): the field versions then come from it, so a late delivery keeps its
 *                       original order; empty: the versions come from the service's clock
 * @param idempotencyKey a caller's retry of the same save reuses the first one's saveId and version
 */
public record SaveCommand(UserKey user, Changes changes, Optional<Instant> editedAt, Optional<String> idempotencyKey,
                          Origin origin) {

    public SaveCommand {
        if (changes.fields().isEmpty()) {
            throw new InvalidSave("the save carries no field; send at least one of retellApiKey, callAgentId, "
                    + "smsAgentId (null clears a field)");
        }
    }

    @Override
    public String toString() {
        return "SaveCommand[" + user + " " + changes + " " + origin.id() + "]";
    }
}
