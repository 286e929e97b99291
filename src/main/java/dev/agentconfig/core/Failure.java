package dev.agentconfig.core;

/**
 * A classified failure: its class, a code (SQLSTATE, PostgREST code or our own) and a message.
 * Codes and classes are decided in {@link Failures}, the one place that knows them.
 */
public record Failure(FailureClass failureClass, String code, String message) {

    /** Nothing reached the database: retried later, the database is not known to be at fault. */
    public boolean transientOrDrift() {
        return failureClass == FailureClass.TRANSIENT || failureClass == FailureClass.SCHEMA_DRIFT;
    }

    /** The breaker was open: the database was not asked (not an attempt of anything). */
    public boolean breakerOpen() {
        return Failures.CODE_BREAKER_OPEN.equals(code);
    }

    /** No pool connection came free in time (load, or a database that is gone). */
    public boolean poolTimeout() {
        return Failures.CODE_POOL_TIMEOUT.equals(code);
    }

    /** Every write would wait the same again: a statement timeout, an answer that did not come, no pool connection. */
    public boolean timedOut() {
        return poolTimeout() || Failures.STATEMENT_TIMEOUT_STATE.equals(code) || Failures.CODE_TIMEOUT.equals(code);
    }

    /** Not the database's doing: the service's own write queue was full (load). */
    public boolean queueFull() {
        return Failures.CODE_QUEUE_FULL.equals(code);
    }

    // ----- what a failure means: the decisions the failure policy (save/FailurePolicy) and the transports take ---

    /**
     * Worth a quick retry within the request: transient, and not a timeout of any kind (statement, answer,
     * pool: waiting again costs the same wait), an open breaker, a full write queue or refused credentials.
     */
    public boolean retryableNow() {
        return failureClass == FailureClass.TRANSIENT && !breakerOpen() && !timedOut() && !queueFull()
                && !Failures.credentialsRefused(this);
    }

    /**
     * Counted against the target's circuit breaker: only the database's own transient failures. Bad data must
     * not open it, nor load (no pool connection in time, a full write queue: a probe tells an outage apart).
     */
    public boolean countsAgainstBreaker() {
        return failureClass == FailureClass.TRANSIENT && !poolTimeout() && !queueFull() && !breakerOpen();
    }

    /**
     * A failure of the whole group (or batch) of saves being written together: the database out of reach, the
     * connection lost; every save of it fails with it. A timeout fails that statement's target for its saves
     * ({@link #timedOut()}: waiting again costs the same wait). Any other failure of a group's statement is one
     * save's: the statement is written again save by save, so that save fails alone.
     */
    public boolean wholeGroup() {
        return outOfReach();
    }

    /** Perhaps the database is gone (worth asking a probe): out of reach, or no pool connection in time. */
    public boolean perhapsUnreachable() {
        return outOfReach() || poolTimeout();
    }

    /** The database cannot be reached at all right now: every further call would fail the same way. */
    public boolean outOfReach() {
        return Failures.outOfReach(this);
    }
}
