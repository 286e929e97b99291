package dev.agentconfig.core;

import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The answer of a save: {@code saved} when every target took it; {@code stale} when a target already
 * held a newer value of a field (the caller's value did not change it there: never a plain "saved");
 * {@code queued} when a target parked it for the sync; {@code quarantined} when the database refused
 * it. Precedence: quarantined, stale, queued, saved. HTTP 202 when the local store holds a target
 * (queued or quarantined), else 200.
 */
public record SaveOutcome(String status, UUID saveId, long version, Map<Target, TargetState> targets,
                          Optional<Failure> failure) {

    public static final String SAVED = "saved";
    public static final String STALE = "stale";
    public static final String QUEUED = "queued";
    public static final String QUARANTINED = "quarantined";

    /** @throws TenantConflict when the user belongs to another tenant (nothing was stored) */
    public static SaveOutcome of(WriteResult result) {
        if (result.tenantConflict()) {
            throw new TenantConflict(result.save().user(), "nothing was saved");
        }
        Map<Target, TargetState> states = new EnumMap<>(Target.class);
        for (Target t : Target.values()) {
            states.put(t, result.state(t));
        }
        String status = states.containsValue(TargetState.QUARANTINED) ? QUARANTINED
                : states.containsValue(TargetState.STALE) ? STALE
                : states.containsValue(TargetState.QUEUED) ? QUEUED
                : SAVED;
        return new SaveOutcome(status, result.save().saveId(), result.save().version(), states, result.firstFailure());
    }

    /** 202 when the local store holds a target of the save (queued or quarantined), 200 otherwise. */
    public int httpStatus() {
        return targets.containsValue(TargetState.QUEUED) || targets.containsValue(TargetState.QUARANTINED) ? 202 : 200;
    }
}
