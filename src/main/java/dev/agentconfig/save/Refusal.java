package dev.agentconfig.save;

import java.util.List;

import dev.agentconfig.core.InvalidSave;
import dev.agentconfig.core.TenantConflict;
import dev.agentconfig.store.LocalStoreUnavailable;

/**
 * Why a save was not taken, the same for every front door (HTTP answers it as problem+json, the inbox
 * sets the message aside or leaves it for later, Kafka dead-letters the record or retries it).
 *
 * @param status the HTTP status that says it: 4xx the sender's mistake, 503 nothing was made durable
 */
public record Refusal(int status, String type, String title, String detail, List<InvalidSave.FieldError> errors) {

    public static Refusal of(Throwable thrown) {
        Throwable error = thrown;
        // a refusal may come wrapped (a Camel exception around what a bean threw)
        for (Throwable t = thrown; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof InvalidSave || t instanceof TenantConflict || t instanceof IdempotencyConflict
                    || t instanceof LocalStoreUnavailable) {
                error = t;
                break;
            }
        }
        if (error instanceof InvalidSave e) {
            return new Refusal(400, "validation-failed", "The request is not valid", e.getMessage(), e.errors());
        }
        if (error instanceof TenantConflict e) {
            return new Refusal(409, "tenant-conflict", "The user belongs to another tenant", e.getMessage(), List.of());
        }
        if (error instanceof IdempotencyConflict e) {
            return new Refusal(409, "idempotency-key-reused", "Idempotency-Key reused with another request",
                    e.getMessage(), List.of());
        }
        if (error instanceof LocalStoreUnavailable) {
            return new Refusal(503, "local-store-unavailable", "The save could not be made durable",
                    "the save could not be written to the database and the local store cannot be written either; "
                            + "nothing was saved, retry later", List.of());
        }
        return new Refusal(500, "internal-error", "Internal error", "the save failed unexpectedly", List.of());
    }

    /** The sender's mistake: sending it again as it is would be refused again. */
    public boolean sendersMistake() {
        return status >= 400 && status < 500;
    }
}
