package dev.agentconfig.audit;

import java.util.List;

/** Where audit rows go: public.audit_log over JDBC, or over PostgREST (POST /rest/v1/audit_log). */
public interface AuditSink {

    enum Outcome {
        /** The batch is in audit_log. */
        WRITTEN,
        /** The rows themselves (or the table) are the problem: retrying will not help; they are dropped. */
        DROPPED,
        /** The database is away: the batch waits and is written when it is back. */
        POSTPONED
    }

    Outcome write(List<AuditEvent> batch);
}
