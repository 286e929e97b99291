package dev.agentconfig.core;

/**
 * A classified failure: its class, a code (SQLSTATE, PostgREST code or our own) and a message.
 * Codes and classes are decided in {@link Failures}, the one place that knows them.
 */
public record Failure(FailureClass failureClass, String code, String message, Cause cause) {

    /**
     * Why a call failed, in the words an operator acts on: a refused or dropped connection, an unknown host,
     * refused credentials, a pool exhausted under load, a statement timeout... Decided with the code in
     * {@link Failures} (and, for what only the exception tells, transport/FailureClassifier). Its words never
     * carry pool internals or a driver's text; they are safe for any caller.
     */
    public enum Cause {
        CONNECTION_REFUSED("connection-refused", "connection refused", "the database refuses connections (is it running? is the port right?)"),
        CONNECTION_LOST("connection-lost", "connection dropped", "the connection to the database was dropped (the server stopped or restarted)"),
        UNKNOWN_HOST("unknown-host", "unknown host", "the database host name does not resolve (check the database URL)"),
        AUTHENTICATION("authentication", "credentials refused", "the database refused the service's credentials (check the user and password or key)"),
        POOL_EXHAUSTED("pool-exhausted", "every connection busy", "every database connection is busy (load: the pool is exhausted)"),
        STATEMENT_TIMEOUT("statement-timeout", "statement timeout", "a statement ran longer than the database's statement timeout (a lock or load)"),
        ANSWER_TIMEOUT("answer-timeout", "no answer in time", "the database (or PostgREST) did not answer in time"),
        UNREACHABLE("unreachable", "unreachable", "the database cannot be reached"),
        BREAKER_OPEN("breaker-open", "not asked (circuit breaker open)", "the database is not asked: it failed repeatedly and a probe waits for it to answer"),
        SCHEMA("schema", "schema incomplete", "a table, column or function the service needs is missing"),
        REJECTED("rejected", "data refused", "the database refused this data"),
        TENANT_CONFLICT("tenant-conflict", "another tenant", "the user belongs to another tenant"),
        OTHER("other", "unexpected failure", "an unexpected failure (see the service log)");

        private final String id;
        private final String label;
        private final String words;

        Cause(String id, String label, String words) {
            this.id = id;
            this.label = label;
            this.words = words;
        }

        /** A few words: "connection refused". */
        public String label() {
            return label;
        }

        public String id() {
            return id;
        }

        /** One sentence for an operator (health, the diagnostics page, the log). */
        public String words() {
            return words;
        }

        /** The database itself cannot be reached (not load, not a slow statement). */
        public boolean databaseDown() {
            return this == CONNECTION_REFUSED || this == CONNECTION_LOST || this == UNKNOWN_HOST
                    || this == AUTHENTICATION || this == UNREACHABLE;
        }
    }

    /** The cause decided from the code and message alone ({@link Failures#causeOf}). */
    public Failure(FailureClass failureClass, String code, String message) {
        this(failureClass, code, message, Failures.causeOf(failureClass, code, message));
    }

    public Failure {
        if (cause == null) {
            cause = Failures.causeOf(failureClass, code, message);
        }
    }

    /** The same failure, its cause known better than its code tells (a pool timeout behind a refused connection). */
    public Failure because(Cause why, String newMessage) {
        return new Failure(failureClass, code, newMessage == null ? message : newMessage, why);
    }

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
