package dev.agentconfig.postgrest;

import java.time.Clock;

import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.save.IdempotencySettings;
import dev.agentconfig.transport.SaveTransactions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Over PostgREST each request commits on its own; after the targets, a save's Idempotency-Key is recorded with
 * one more request ({@code POST /rest/v1/rpc/save_idempotency_record}, migration V6) once a target took the save
 * (saved, or stale). Not in the targets' transaction: if that request fails, the save stands and the failure is
 * logged; a retry of it is then recognised only while this instance runs (in memory) or its entry is parked.
 */
public final class PostgrestSaveTransactions implements SaveTransactions {
    private static final Logger LOG = LoggerFactory.getLogger(PostgrestSaveTransactions.class);

    private final PostgrestIdempotencyRecords records;
    private final IdempotencySettings idempotency;
    private final Clock wall;

    public PostgrestSaveTransactions(PostgrestIdempotencyRecords records, IdempotencySettings idempotency, Clock wall) {
        this.records = records;
        this.idempotency = idempotency;
        this.wall = wall;
    }

    @Override
    public WriteResult begin(WriteResult result) {
        return result;
    }

    @Override
    public WriteResult commit(WriteResult result) {
        SealedSave save = result.save();
        if (save.replay() || save.idempotencyRecord().isEmpty() || result.outcomes().values().stream()
                .noneMatch(o -> o instanceof TargetOutcome.Saved || o instanceof TargetOutcome.Stale)) {
            return result;
        }
        try {
            records.record(save.user(), save.idempotencyRecord().get(), idempotency.notBefore(wall.instant()),
                    idempotency.perUser());
        } catch (RuntimeException e) {
            LOG.warn("Save {} for {}: its Idempotency-Key could not be recorded through PostgREST ({}); the save "
                    + "itself stands", save.saveId(), save.user(), e.getMessage());
        }
        return result;
    }

    @Override
    public void release(WriteResult result) {
    }
}
