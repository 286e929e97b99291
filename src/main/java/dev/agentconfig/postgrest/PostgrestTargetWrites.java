package dev.agentconfig.postgrest;

import java.time.Clock;

import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.save.IdempotencySettings;
import dev.agentconfig.transport.ClassifiedFailureException;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.OneByOneWrites;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rest transport's {@link dev.agentconfig.transport.TargetWrites}: one save at a time, one PostgREST request
 * per target, each committing on its own ({@code POST /rest/v1/user_profiles?on_conflict=user_id}, then
 * {@code POST /rest/v1/rpc/update_user_api_keys}; payloads in {@link PostgrestPayloads}), sent through
 * {@link PostgrestClient} (route postgrest-call: one HTTP client, the contract's headers, a schema-cache reload).
 * After the targets, a save's Idempotency-Key is recorded with one more request
 * ({@code POST /rest/v1/rpc/save_idempotency_record}, migration V6) once a target took it: not in the targets'
 * transaction; if that request fails, the save stands and the failure is logged. No audit row rides with the
 * writes here: the save's answer audits it through the audit trail.
 */
public final class PostgrestTargetWrites extends OneByOneWrites {
    private static final Logger LOG = LoggerFactory.getLogger(PostgrestTargetWrites.class);

    private final PostgrestClient client;
    private final PostgrestPayloads payloads;
    private final PostgrestIdempotencyRecords records;
    private final IdempotencySettings idempotency;
    private final Clock wall;

    public PostgrestTargetWrites(PostgrestClient client, PostgrestPayloads payloads, FailureClassifier classifier,
                                 PostgrestIdempotencyRecords records, IdempotencySettings idempotency, Clock wall) {
        super(classifier);
        this.client = client;
        this.payloads = payloads;
        this.records = records;
        this.idempotency = idempotency;
        this.wall = wall;
    }

    @Override
    protected TargetOutcome upsertProfile(SealedSave save) {
        PostgrestRequest request = payloads.upsertProfile(save);
        return payloads.profileUpserted(new PostgrestAnswer(request, send(request)));
    }

    @Override
    protected TargetOutcome callSettings(SealedSave save) {
        PostgrestRequest request = payloads.callSettingsRpc(save);
        return payloads.settingsCalled(new PostgrestAnswer(request, send(request)));
    }

    private String send(PostgrestRequest request) {
        PostgrestClient.Result result = client.call(request);
        if (!result.ok()) {
            throw new ClassifiedFailureException(result.failure());
        }
        return result.body();
    }

    @Override
    protected void written(WriteResult result) {
        SealedSave save = result.save();
        if (save.replay() || save.idempotencyRecord().isEmpty() || result.outcomes().values().stream()
                .noneMatch(o -> o instanceof TargetOutcome.Saved || o instanceof TargetOutcome.Stale)) {
            return;
        }
        try {
            records.record(save.user(), save.idempotencyRecord().get(), idempotency.notBefore(wall.instant()),
                    idempotency.perUser());
        } catch (RuntimeException e) {
            LOG.warn("Save {} for {}: its Idempotency-Key could not be recorded through PostgREST ({}); the save "
                    + "itself stands", save.saveId(), save.user(), e.getMessage());
        }
    }
}
