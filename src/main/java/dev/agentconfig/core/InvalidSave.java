package dev.agentconfig.core;

import java.util.List;

/**
 * Input that breaks a rule of the contract (the caller's mistake: HTTP 400, an inbox message set
 * aside, a Kafka record dead-lettered). The message names fields and rules, never submitted values.
 */
public final class InvalidSave extends RuntimeException {
    /** One field's broken rule. */
    public record FieldError(String field, String message) {
    }

    private final transient List<FieldError> errors;

    public InvalidSave(String detail) {
        this(detail, List.of());
    }

    public InvalidSave(String detail, List<FieldError> errors) {
        super(detail, null, false, false);
        this.errors = List.copyOf(errors);
    }

    public List<FieldError> errors() {
        return errors;
    }
}
