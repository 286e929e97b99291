package dev.agentconfig.core;

import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The answer of a save: {@code saved} (200) when every target took it, {@code stale} (200) when a
 * target already held a newer value of a field (nothing newer was stored there), {@code queued}
 * (202) when a target parked it for the sync, {@code quarantined} (202) when the database refused it.
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
                : states.containsValue(TargetState.QUEUED) ? QUEUED
                : states.containsValue(TargetState.STALE) ? STALE
                : SAVED;
        return new SaveOutcome(status, result.save().saveId(), result.save().version(), states, result.firstFailure());
    }

    /** 200 when the database holds the outcome (saved or stale), 202 when the local store does. */
    public int httpStatus() {
        return SAVED.equals(status) || STALE.equals(status) ? 200 : 202;
    }
}
