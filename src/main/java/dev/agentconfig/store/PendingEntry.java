package dev.agentconfig.store;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.Field;
import dev.agentconfig.save.PreparedSave;
import dev.agentconfig.core.Target;

/**
 * One local-store document: what is waiting for the database for one (tenant, user). Fields
 * are merged per field (the newest version wins); the API key is only ever its envelope.
 */
public record PendingEntry(
        int format,
        String tenantId,
        String userId,
        Map<String, FieldEntry> fields,
        List<String> pendingTargets,
        String state,
        ErrorInfo lastError,
        int attempts,
        String nextAttemptAt,
        String createdAt,
        String updatedAt,
        long revision) {

    public static final String PENDING = "pending";
    public static final String QUARANTINED = "quarantined";

    /** A field's value (an envelope for the key; null when the save cleared it) and version. */
    public record FieldEntry(String value, long version, String saveId) {
        @Override
        public String toString() {
            return "FieldEntry[v" + version + "]";
        }
    }

    /** The last failure: class, code, message, the target that failed, and when. */
    public record ErrorInfo(String failureClass, String code, String message, String target, String at) {
    }

    public boolean quarantined() {
        return QUARANTINED.equals(state);
    }

    public boolean pending() {
        return PENDING.equals(state);
    }

    public Instant nextAttempt() {
        return nextAttemptAt == null ? Instant.EPOCH : Instant.parse(nextAttemptAt);
    }

    /**
     * This entry with a save merged in for a target that could not take it. A field already
     * held at a newer version is kept; a rejected target quarantines the entry.
     */
    public static PendingEntry merge(PendingEntry existing, PreparedSave save, Target target, Failure failure,
                                     boolean quarantine, Instant now) {
        Map<String, FieldEntry> fields = new TreeMap<>();
        TreeSet<String> targets = new TreeSet<>();
        String state = quarantine ? QUARANTINED : PENDING;
        int attempts = 1;
        String createdAt = now.toString();
        long revision = 1;
        if (existing != null) {
            fields.putAll(existing.fields());
            targets.addAll(existing.pendingTargets());
            if (existing.quarantined()) {
                state = QUARANTINED;
            }
            attempts = Math.max(existing.attempts(), 1);
            createdAt = existing.createdAt();
            revision = existing.revision() + 1;
        }
        for (Field f : save.sealed().fields()) {
            FieldEntry current = fields.get(f.json());
            if (current == null || current.version() < save.versionOf(f)) {
                fields.put(f.json(), new FieldEntry(save.sealed().get(f), save.versionOf(f), save.saveId().toString()));
            }
        }
        targets.add(target.table());
        ErrorInfo error = new ErrorInfo(failure.failureClass().id(), failure.code(), failure.message(),
                target.table(), now.toString());
        // a quarantined entry has no next attempt: it waits for POST .../retry
        return new PendingEntry(1, save.tenantId(), save.userId().toString(), fields, List.copyOf(targets), state,
                error, attempts, QUARANTINED.equals(state) ? null : now.toString(), createdAt, now.toString(), revision);
    }

    public PendingEntry withTargets(List<String> targets, String newState, ErrorInfo error, int newAttempts,
                                    Instant nextAttempt, Instant now) {
        return new PendingEntry(format, tenantId, userId, fields, List.copyOf(new TreeSet<>(targets)), newState, error,
                newAttempts, nextAttempt.toString(), createdAt, now.toString(), revision + 1);
    }

    /**
     * This entry after a replay by the sync: the targets still pending, its state, the last error,
     * attempts and next attempt (null: none planned, as for a quarantined entry). Fields unchanged.
     */
    public PendingEntry settled(List<String> targets, String newState, ErrorInfo error, int newAttempts,
                                Instant nextAttempt, Instant now) {
        return new PendingEntry(format, tenantId, userId, fields, List.copyOf(new TreeSet<>(targets)), newState, error,
                newAttempts, nextAttempt == null ? null : nextAttempt.toString(), createdAt, now.toString(),
                revision + 1);
    }

    /** A quarantined entry put back in line by an operator: pending and due now, its history kept. */
    public PendingEntry requeued(Instant now) {
        return new PendingEntry(format, tenantId, userId, fields, pendingTargets, PENDING, lastError, attempts,
                now.toString(), createdAt, now.toString(), revision + 1);
    }

    @Override
    public String toString() {
        return "PendingEntry[" + tenantId + "/" + userId + " " + fields.keySet() + " -> " + pendingTargets + " "
                + state + " r" + revision + "]";
    }
}
