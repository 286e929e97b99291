package dev.agentconfig.transport;

import dev.agentconfig.core.Failure;
/** A failure whose class is already known (for example from a PostgREST answer). */
public class ClassifiedFailureException extends RuntimeException {
    private final transient Failure failure;

    public ClassifiedFailureException(Failure failure) {
        super(failure.failureClass().id() + " " + failure.code() + ": " + failure.message(), null, false, false);
        this.failure = failure;
    }

    public Failure failure() {
        return failure;
    }
}
