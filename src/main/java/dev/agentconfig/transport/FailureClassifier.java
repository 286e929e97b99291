package dev.agentconfig.transport;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.SQLTransientException;
import java.util.IdentityHashMap;
import java.util.Set;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.core.Failures;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;

/**
 * Finds the code of a failed write in an exception's cause chain (the SQLSTATE a JDBC driver gives,
 * an open breaker, the kind of I/O failure, a failure a PostgREST answer already classified) and
 * hands it to {@link Failures}, the one place that classes codes.
 */
public final class FailureClassifier {

    public Failure classify(Throwable error) {
        Set<Throwable> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        Throwable ioCause = null;
        for (Throwable t = error; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof ClassifiedFailureException c) {
                return c.failure();
            }
            if (t instanceof CallNotPermittedException) {
                return Failures.breakerOpen();
            }
            if (t instanceof SQLTransientConnectionException pool && pool.getMessage() != null
                    && pool.getMessage().contains("Connection is not available")) {
                return poolTimeout(pool);
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                Failure f = Failures.ofSqlState(sql.getSQLState(), sql.getMessage());
                // "The connection attempt failed." says nothing: the socket's exception below it does
                for (Throwable below = t.getCause(); below != null && below != below.getCause(); below = below.getCause()) {
                    if (below instanceof UnknownHostException) {
                        return f.because(Failure.Cause.UNKNOWN_HOST, "unknown host " + below.getMessage());
                    }
                    if (below instanceof ConnectException) {
                        return f.because(Failure.Cause.CONNECTION_REFUSED, f.message());
                    }
                }
                return f;
            }
            if (t instanceof SQLTransientException) {
                return new Failure(FailureClass.TRANSIENT, Failures.CONNECTION_FAILED_STATE, Failures.firstLine(t.getMessage()));
            }
            if (ioCause == null && t instanceof IOException) {
                ioCause = t;
            }
        }
        if (ioCause instanceof UnknownHostException) {
            return new Failure(FailureClass.TRANSIENT, Failures.CODE_IO, "unknown host " + ioCause.getMessage(),
                    Failure.Cause.UNKNOWN_HOST);
        }
        if (ioCause instanceof ConnectException) {
            return new Failure(FailureClass.TRANSIENT, Failures.CODE_IO, Failures.firstLine(ioCause.getMessage()),
                    Failure.Cause.CONNECTION_REFUSED);
        }
        if (ioCause instanceof SocketTimeoutException) {
            return new Failure(FailureClass.TRANSIENT, Failures.CODE_TIMEOUT, Failures.firstLine(ioCause.toString()));
        }
        if (ioCause != null) {
            return new Failure(FailureClass.TRANSIENT, Failures.CODE_IO, Failures.firstLine(ioCause.toString()));
        }
        // Unknown failures are retried rather than quarantined: the data is not known to be at fault.
        return new Failure(FailureClass.TRANSIENT, "unknown", Failures.firstLine(String.valueOf(error)));
    }

    /**
     * The pool's own timeout (HikariCP): no connection came free in time. With no connection failure behind
     * it every connection is busy (load); with one (the pool kept failing to open a connection: HikariCP
     * attaches the last failure) the database is gone, and that failure says why (refused, unknown host,
     * credentials). The code stays pool-timeout either way (not retried in the request, a probe decides); the
     * message is the cause's, never the pool's counters.
     */
    private Failure poolTimeout(SQLTransientConnectionException pool) {
        Throwable behind = pool.getCause();
        if (behind == null) {
            return new Failure(FailureClass.TRANSIENT, Failures.CODE_POOL_TIMEOUT,
                    "no database connection came free in time: every connection is busy", Failure.Cause.POOL_EXHAUSTED);
        }
        Failure why = classify(behind);
        Failure.Cause cause = why.cause() == Failure.Cause.OTHER ? Failure.Cause.UNREACHABLE : why.cause();
        return new Failure(FailureClass.TRANSIENT, Failures.CODE_POOL_TIMEOUT, why.message(), cause);
    }
}
