package dev.agentconfig.failure;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.util.IdentityHashMap;
import java.util.Set;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;

/**
 * The one place where a failed write becomes a {@link FailureClass}, from the SQLSTATE found in
 * the exception's cause chain (camel-sql wraps it in Spring's DataAccessException), from
 * PostgREST's error code, or from the kind of I/O failure.
 */
public final class FailureClassifier {
    public static final String CODE_BREAKER_OPEN = "circuit-open";
    public static final String TENANT_CONFLICT_STATE = "AC409";
    public static final String FOREIGN_OWNER_STATE = "AC403";

    public Failure classify(Throwable error) {
        Set<Throwable> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        Throwable ioCause = null;
        for (Throwable t = error; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof ClassifiedFailureException c) {
                return c.failure();
            }
            if (t instanceof CallNotPermittedException) {
                return new Failure(FailureClass.TRANSIENT, CODE_BREAKER_OPEN,
                        "circuit breaker open after repeated failures; the database is not called until it half-opens");
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return fromSqlState(sql.getSQLState(), firstLine(sql.getMessage()));
            }
            if (t instanceof SQLTransientException) {
                return new Failure(FailureClass.TRANSIENT, "08001", firstLine(t.getMessage()));
            }
            if (ioCause == null && (t instanceof ConnectException || t instanceof SocketTimeoutException
                    || t instanceof IOException)) {
                ioCause = t;
            }
        }
        if (ioCause != null) {
            return new Failure(FailureClass.TRANSIENT, "io", firstLine(ioCause.toString()));
        }
        // Unknown failures are retried rather than quarantined: the data is not known to be at fault.
        return new Failure(FailureClass.TRANSIENT, "unknown", firstLine(String.valueOf(error)));
    }

    public Failure fromSqlState(String state, String message) {
        return new Failure(classOfSqlState(state), state, message);
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
            case "40001", "40P01", "55P03", "57014" -> {
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

    static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        String m = message;
        // Spring prefixes "PreparedStatementCallback; SQL [...]; " before the server's words.
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
