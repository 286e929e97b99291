package dev.agentconfig.receipt;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.UserKey;

/**
 * What the database already knows of a user's saves, asked when a receipt is asked for (never on the save
 * path): the audit rows a save left (audit_log, written in the save's or the drain batch's transaction on the
 * jdbc transport, by the audit trail otherwise) and the per-field versions the tables hold now.
 */
public interface SaveRecords {

    /**
     * The audit rows of one save, oldest first: its "save" row (taken or refused) and the "sync" and
     * "sync-abandon" rows whose {@code saveIds} name it.
     *
     * @param notBefore rows older than this are not asked (agentconfig.receipts.retention)
     */
    List<AuditEvent> rowsOf(UserKey user, UUID saveId, Instant notBefore);

    /** The taken save whose audit row carries this field at this version (the save that wrote it), if any. */
    Optional<AuditEvent> saveOf(UserKey user, Field field, long version, Instant notBefore);

    /** The newest version each table holds per field for the user (empty when no table holds a row). */
    Map<Field, Long> storedVersions(UserKey user);
}
