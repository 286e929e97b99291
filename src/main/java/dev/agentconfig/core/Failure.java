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

    /**
     * Worth a quick retry within the request: transient, and not a timeout of any kind (statement, answer,
     * pool: waiting again costs the same wait), an open breaker or refused credentials.
     */
    public boolean retryableNow() {
        return failureClass == FailureClass.TRANSIENT && !breakerOpen() && !poolTimeout() && !"57014".equals(code)
                && !Failures.CODE_TIMEOUT.equals(code) && !Failures.credentialsRefused(this);
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
