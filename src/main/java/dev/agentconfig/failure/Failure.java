package dev.agentconfig.failure;

/** A classified failure: its class, a code (SQLSTATE, PostgREST code or our own) and a message. */
public record Failure(FailureClass failureClass, String code, String message) {
}
