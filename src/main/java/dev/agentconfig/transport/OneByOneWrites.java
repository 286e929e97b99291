package dev.agentconfig.transport;

import java.util.ArrayList;
import java.util.List;

import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.WriteResult;

/**
 * {@link TargetWrites} for a transport that writes one save at a time, each request committing on its own (the
 * rest transport): per save, the profile upsert, then the settings call (not after a tenant conflict). A
 * write that throws becomes that target's outcome, classified once ({@link FailureClassifier}, then
 * {@link TargetOutcome#failed}); the transport's own steps only send and read.
 */
public abstract class OneByOneWrites implements TargetWrites {
    private final FailureClassifier classifier;

    protected OneByOneWrites(FailureClassifier classifier) {
        this.classifier = classifier;
    }

    /** The profile upsert: what user_profiles made of the save. Throws what the transport threw. */
    protected abstract TargetOutcome upsertProfile(SealedSave save) throws Exception;

    /** The settings call: what user_settings made of the save. Throws what the transport threw. */
    protected abstract TargetOutcome callSettings(SealedSave save) throws Exception;

    /** After the targets of a save (nothing by default): e.g. its Idempotency-Key recorded. */
    protected void written(WriteResult result) {
    }

    @Override
    public List<WriteResult> write(List<WriteResult> group, AuditRow audit) {
        List<WriteResult> out = new ArrayList<>(group.size());
        for (WriteResult r : group) {
            out.add(writeOne(r));
        }
        return out;
    }

    private WriteResult writeOne(WriteResult result) {
        WriteResult r = result;
        if (r.wantsProfile()) {
            r = r.with(attempt(Target.USER_PROFILES, r.save()));
        }
        if (r.wantsSettings()) {
            r = r.with(attempt(Target.USER_SETTINGS, r.save()));
        }
        written(r);
        return r;
    }

    private TargetOutcome attempt(Target target, SealedSave save) {
        try {
            return target == Target.USER_PROFILES ? upsertProfile(save) : callSettings(save);
        } catch (Exception e) {
            return TargetOutcome.failed(target, classifier.classify(e));
        }
    }
}
