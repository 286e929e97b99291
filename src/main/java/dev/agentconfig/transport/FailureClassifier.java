package dev.agentconfig.transport;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
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
            if (t instanceof java.sql.SQLTransientConnectionException pool && pool.getMessage() != null
                    && pool.getMessage().contains("Connection is not available")) {
                // the pool's own timeout (HikariCP): no connection came free in time
                return new Failure(FailureClass.TRANSIENT, Failures.CODE_POOL_TIMEOUT, Failures.firstLine(pool.getMessage()));
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return Failures.ofSqlState(sql.getSQLState(), sql.getMessage());
            }
            if (t instanceof SQLTransientException) {
                return new Failure(FailureClass.TRANSIENT, "08001", Failures.firstLine(t.getMessage()));
            }
            if (ioCause == null && t instanceof IOException) {
                ioCause = t;
            }
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
}
