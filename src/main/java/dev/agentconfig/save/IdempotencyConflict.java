package dev.agentconfig.save;

/** An Idempotency-Key used again for a different save of the same user (HTTP 409). */
public final class IdempotencyConflict extends RuntimeException {
    public IdempotencyConflict(String detail) {
        super(detail, null, false, false);
    }
}
