package dev.agentconfig.core;

import java.util.regex.Pattern;

/**
 * The one place where a code becomes a {@link FailureClass}: a SQLSTATE (JDBC, or the code of a
 * PostgREST error body), a PostgREST code PGRSTnnn, an HTTP status without a code, or one of our own
 * codes for failures that never reached the database. Pure functions; the transports only find the
 * code (failure.FailureClassifier walks exception chains).
 */
public final class Failures {
    public static final String CODE_BREAKER_OPEN = "circuit-open";
    public static final String TENANT_CONFLICT_STATE = "AC409";
    public static final String FOREIGN_OWNER_STATE = "AC403";
    /** An I/O timeout waiting for an answer (a slow PostgREST): not retried in the request. */
    public static final String CODE_TIMEOUT = "timeout";
    /** An I/O failure reaching the database or PostgREST (refused, reset, unknown host). */
    public static final String CODE_IO = "io";
    /**
     * No pool connection came free in time: every connection is busy (load), or none can be made (the
     * database is gone: a probe tells which). Not retried in the request, not counted by the breakers.
     */
    public static final String CODE_POOL_TIMEOUT = "pool-timeout";
    /** The server cancelled a statement that ran longer than statement_timeout (SQLSTATE query_canceled). */
    public static final String STATEMENT_TIMEOUT_STATE = "57014";
    /** The client could not establish a connection (a transient JDBC failure without a SQLSTATE of its own). */
    public static final String CONNECTION_FAILED_STATE = "08001";
    /** The connection does not exist (any more): a connection the pool closed after it was lost. */
    public static final String CONNECTION_LOST_STATE = "08003";
    /**
     * The jdbc transport's write queue was full (more saves waiting for a group commit than it holds): the
     * save is parked at once instead of waiting. Load, not the database's fault: not retried in the request,
     * not counted by the breakers.
     */
    public static final String CODE_QUEUE_FULL = "write-queue-full";
    /** Prefix of the code of an HTTP failure that carries no PostgREST or SQLSTATE code: "http-502". */
    public static final String CODE_HTTP_PREFIX = "http-";

    private static final Pattern SQLSTATE = Pattern.compile("[0-9A-Z]{5}");

    private Failures() {
    }

    public static Failure breakerOpen() {
        return new Failure(FailureClass.TRANSIENT, CODE_BREAKER_OPEN,
                "circuit breaker open after repeated failures; the database is not called until it answers again");
    }

    public static Failure queueFull(int capacity) {
        return new Failure(FailureClass.TRANSIENT, CODE_QUEUE_FULL,
                "the write queue holds " + capacity + " saves already (agentconfig.db.write-queue); parked at once");
    }

    public static Failure ofSqlState(String state, String message) {
        return new Failure(classOfSqlState(state), state, firstLine(message));
    }

    public static FailureClass classOfSqlState(String state) {
        if (TENANT_CONFLICT_STATE.equals(state)) {
            return FailureClass.TENANT_CONFLICT;
        }
        if (FOREIGN_OWNER_STATE.equals(state)) {
            return FailureClass.REJECTED;
        }
        switch (state) {
            case "42P01", "42703", "42883", "42P10", "42501", "3F000", "42704" -> {
                return FailureClass.SCHEMA_DRIFT;
            }
            case "40001", "40P01", "55P03", STATEMENT_TIMEOUT_STATE -> {
                return FailureClass.TRANSIENT;
            }
            default -> {
                // by class below
            }
        }
        String cls = state.length() >= 2 ? state.substring(0, 2) : state;
        return switch (cls) {
            case "08", "53", "57", "58", "XX", "25", "40", "55", "28" -> FailureClass.TRANSIENT;
            case "22", "23", "P0" -> FailureClass.REJECTED;
            case "42" -> FailureClass.SCHEMA_DRIFT;
            default -> FailureClass.TRANSIENT;
        };
    }

    /**
     * A PostgREST error answer: its HTTP status and the {@code code} of its JSON body (a PostgREST
     * code PGRSTnnn, or the SQLSTATE of the database error, our triggers' AC409/AC403 included),
     * mapped to the same classes as the JDBC path so queueing, quarantine and sync behave alike.
     *
     * @param code    null when the body was not PostgREST's (a gateway's HTML page, an empty body)
     * @param message PostgREST's message (never its details: they may quote the row)
     */
    public static Failure ofPostgrest(int status, String code, String message) {
        String m = firstLine(message == null || message.isBlank() ? "HTTP " + status : message);
        if (code != null && code.startsWith("PGRST")) {
            return new Failure(classOfPostgrestCode(code, status), code, m);
        }
        if (code != null && SQLSTATE.matcher(code).matches()) {
            return ofSqlState(code, m);
        }
        return new Failure(classOfHttpStatus(status), CODE_HTTP_PREFIX + status, m);
    }

    /**
     * PostgREST's own codes: PGRST0xx the connection to the database (transient); PGRST1xx a
     * request PostgREST cannot parse (our payload: quarantined for an operator) except PGRST106,
     * the schema not exposed; PGRST2xx the schema cache does not know a table, column, function or
     * relationship (schema drift, self-healed by a reload); PGRST3xx the service's key was refused:
     * an operator problem, the data is fine, so it is retried, never quarantined.
     */
    static FailureClass classOfPostgrestCode(String code, int status) {
        String digits = code.substring("PGRST".length());
        if (digits.equals("106")) {
            return FailureClass.SCHEMA_DRIFT;
        }
        return switch (digits.isEmpty() ? ' ' : digits.charAt(0)) {
            case '0', '3' -> FailureClass.TRANSIENT;
            case '1' -> FailureClass.REJECTED;
            case '2' -> FailureClass.SCHEMA_DRIFT;
            default -> classOfHttpStatus(status);
        };
    }

    /** An answer without a code: what its status alone says. */
    static FailureClass classOfHttpStatus(int status) {
        if (status == 404) {
            return FailureClass.SCHEMA_DRIFT; // the resource is not there
        }
        if (status >= 500 || status == 401 || status == 403 || status == 407 || status == 408 || status == 429) {
            return FailureClass.TRANSIENT;
        }
        if (status >= 400) {
            return FailureClass.REJECTED;
        }
        return FailureClass.TRANSIENT;
    }

    /**
     * Why it failed, from the code (and for 08xxx the driver's words: "refused", an unknown host). The
     * exception's own types (a ConnectException, an UnknownHostException, a pool timeout with or without a
     * connection failure behind it) are transport/FailureClassifier's to add.
     */
    public static Failure.Cause causeOf(FailureClass failureClass, String code, String message) {
        String c = code == null ? "" : code;
        String m = message == null ? "" : message.toLowerCase(java.util.Locale.ROOT);
        if (failureClass == FailureClass.TENANT_CONFLICT) {
            return Failure.Cause.TENANT_CONFLICT;
        }
        if (failureClass == FailureClass.SCHEMA_DRIFT) {
            return Failure.Cause.SCHEMA;
        }
        if (failureClass == FailureClass.REJECTED) {
            return Failure.Cause.REJECTED;
        }
        if (c.equals(CODE_BREAKER_OPEN)) {
            return Failure.Cause.BREAKER_OPEN;
        }
        if (c.equals(STATEMENT_TIMEOUT_STATE)) {
            return Failure.Cause.STATEMENT_TIMEOUT;
        }
        if (c.equals(CODE_TIMEOUT) || c.equals(CODE_HTTP_PREFIX + 504)) {
            return Failure.Cause.ANSWER_TIMEOUT;
        }
        if (c.startsWith("28") || c.equals("PGRST301") || c.equals("PGRST302") || c.equals("PGRST303")
                || c.equals(CODE_HTTP_PREFIX + 401) || c.equals(CODE_HTTP_PREFIX + 403) || c.equals(CODE_HTTP_PREFIX + 407)) {
            return Failure.Cause.AUTHENTICATION;
        }
        if (m.contains("authentication failed")) {
            return Failure.Cause.AUTHENTICATION;
        }
        if (m.contains("unknownhost") || m.contains("unknown host") || m.contains("name or service not known")) {
            return Failure.Cause.UNKNOWN_HOST;
        }
        if (m.contains("refused")) {
            return Failure.Cause.CONNECTION_REFUSED;
        }
        if (c.equals(CODE_POOL_TIMEOUT)) {
            // a pool timeout carries the words of the connection failure behind it, if there was one
            return m.contains("every connection is busy") || m.contains("connection is not available")
                    ? Failure.Cause.POOL_EXHAUSTED : Failure.Cause.UNREACHABLE;
        }
        if (c.startsWith("57P0") || c.equals("08006") || c.equals("08003") || m.contains("connection reset")
                || m.contains("broken pipe") || m.contains("eofexception") || m.contains("i/o error")) {
            return Failure.Cause.CONNECTION_LOST;
        }
        if (c.startsWith("08") || c.startsWith("PGRST00") || c.equals(CODE_IO) || c.equals(CODE_HTTP_PREFIX + 502)
                || c.equals(CODE_HTTP_PREFIX + 503)) {
            return Failure.Cause.UNREACHABLE;
        }
        return Failure.Cause.OTHER;
    }

    /** PostgREST did not know a table, column or function: a schema-cache reload may fix it. */
    public static boolean staleSchemaCache(Failure f) {
        String c = f.code();
        return "PGRST202".equals(c) || "PGRST204".equals(c) || "PGRST205".equals(c);
    }

    /** The service's own credentials were refused (PGRST301/302/303, or a bare 401/403/407). */
    public static boolean credentialsRefused(Failure f) {
        String c = f.code() == null ? "" : f.code();
        return c.startsWith("PGRST3") || c.equals(CODE_HTTP_PREFIX + 401) || c.equals(CODE_HTTP_PREFIX + 403)
                || c.equals(CODE_HTTP_PREFIX + 407);
    }

    /**
     * The database cannot be reached at all right now (every further call would fail the same way):
     * a refused or timed-out connection, an open breaker, PostgREST without its database
     * (PGRST000–003), a gateway's 502/503/504, or the service's key refused.
     */
    public static boolean outOfReach(Failure f) {
        if (f.failureClass() != FailureClass.TRANSIENT) {
            return false;
        }
        String code = f.code() == null ? "" : f.code();
        return code.equals(CODE_BREAKER_OPEN) || code.startsWith("08") || code.startsWith("57P0")
                || code.equals(CODE_IO) || code.equals(CODE_TIMEOUT) || code.startsWith("PGRST00")
                || code.equals(CODE_HTTP_PREFIX + 502) || code.equals(CODE_HTTP_PREFIX + 503)
                || code.equals(CODE_HTTP_PREFIX + 504) || credentialsRefused(f);
    }

    /** The server's words without Spring's "PreparedStatementCallback; SQL [...]" prefix, one line, bounded. */
    public static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        String m = message;
        int err = m.indexOf("ERROR: ");
        if (err >= 0) {
            m = m.substring(err + "ERROR: ".length());
        }
        int nl = m.indexOf('\n');
        if (nl >= 0) {
            m = m.substring(0, nl);
        }
        m = m.strip();
        return m.length() > 300 ? m.substring(0, 300) + "…" : m;
    }
}
