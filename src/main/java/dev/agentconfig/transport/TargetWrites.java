package dev.agentconfig.transport;

import java.util.List;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.core.WriteResult;

/**
 * The one write path to the two tables: a group of saves written to {@code user_profiles}, then
 * {@code user_settings}, each save answered per target ({@link dev.agentconfig.core.TargetOutcome}: saved,
 * stale, queued, quarantined, conflict) exactly as if it had been written alone. The save, the sync's drain
 * and the legacy-key adoption all call it.
 *
 * <p>Each {@link WriteResult} of the group says what is still to be written: a target that already has an
 * outcome (an open breaker's, an earlier attempt's) is left alone; user_settings is not written after
 * user_profiles found the user under another tenant ({@link WriteResult#wantsSettings()}).
 *
 * <p>One implementation per transport: {@code db/JdbcTargetWrites} (group commits: one transaction, one
 * multi-row statement per target, the saves' Idempotency-Keys and audit rows in it) and
 * {@code postgrest/PostgrestTargetWrites} (one request per target per save). The failure policy (breakers,
 * in-request retry) is applied once around them by {@code save/FailurePolicy}. An implementation never
 * throws for a failed write: the failure is that target's outcome.
 */
public interface TargetWrites {

    /**
     * @param group the saves, in arrival order (two saves of one user apply in this order)
     * @param audit the audit row of a written save that its transaction should commit with it (null: none);
     *              a transport that commits it marks the result {@link WriteResult#audited()}
     * @return one result per save, in the group's order
     */
    List<WriteResult> write(List<WriteResult> group, AuditRow audit);

    /** The audit row that commits with a written save, when the transport can put it in its transaction. */
    @FunctionalInterface
    interface AuditRow {
        /** @return the row, or null when this result is not audited with its write */
        AuditEvent of(WriteResult written);

        AuditRow NONE = written -> null;
    }
}
