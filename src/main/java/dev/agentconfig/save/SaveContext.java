package dev.agentconfig.save;

import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetState;
import java.util.EnumMap;
import java.util.Map;

import dev.agentconfig.core.Failure;

/**
 * The state of one save as it moves through the routes: the prepared save and what each
 * target made of it. Held in an exchange property; multicast branches share this instance.
 */
public final class SaveContext {
    public static final String PROPERTY = "agentconfig.save";
    public static final String TARGET_PROPERTY = "agentconfig.target";

    private final PreparedSave save;
    private final Map<Target, TargetState> states = new EnumMap<>(Target.class);
    private final Map<Target, Failure> failures = new EnumMap<>(Target.class);
    private final boolean replay;
    private final boolean fresh;
    /** A target answered a version from a clock ahead of ours (the version clock now follows it). */
    private boolean overtakenByClock;
    /** A legacy plaintext key reported by the settings call: in memory only, taken once. */
    private String legacyKey;

    public SaveContext(PreparedSave save, boolean replay) {
        this(save, replay, false);
    }

    /**
     * @param fresh the save was versioned just now for this request: not a replay by the sync, not
     *              a repeated Idempotency-Key, not already versioned again. Only a fresh save may be
     *              versioned again when a target holds a version from a clock ahead of ours.
     */
    public SaveContext(PreparedSave save, boolean replay, boolean fresh) {
        this.save = save;
        this.replay = replay;
        this.fresh = fresh && !replay;
    }

    public boolean fresh() {
        return fresh;
    }

    public synchronized void overtakenByClock() {
        this.overtakenByClock = true;
    }

    /** A fresh save that a target found superseded by a version from a clock ahead of this one. */
    public synchronized boolean supersededByAClockAhead() {
        return fresh && overtakenByClock && states.containsValue(TargetState.STALE);
    }

    public PreparedSave save() {
        return save;
    }

    /** True when the sync replays a local entry (the entry must not be merged into again). */
    public boolean replay() {
        return replay;
    }

    public synchronized void legacyKey(String plaintext) {
        this.legacyKey = plaintext;
    }

    public synchronized boolean hasLegacyKey() {
        return legacyKey != null;
    }

    synchronized String legacyKeyPeek() {
        return legacyKey;
    }

    /** The legacy key, once: the context forgets it. */
    public synchronized String takeLegacyKey() {
        String k = legacyKey;
        legacyKey = null;
        return k;
    }

    public synchronized void record(Target target, TargetState state, Failure failure) {
        states.put(target, state);
        if (failure != null) {
            failures.put(target, failure);
        } else {
            failures.remove(target);
        }
    }

    public synchronized TargetState state(Target target) {
        return states.get(target);
    }

    public synchronized Failure failure(Target target) {
        return failures.get(target);
    }

    public synchronized Map<Target, TargetState> states() {
        return new EnumMap<>(states);
    }

    public synchronized boolean tenantConflict() {
        return failures.values().stream()
                .anyMatch(f -> f.failureClass() == dev.agentconfig.core.FailureClass.TENANT_CONFLICT);
    }

    /** The most significant failure of the save, for its answer and audit row. */
    public synchronized Failure firstFailure() {
        for (Target t : Target.values()) {
            if (failures.containsKey(t)) {
                return failures.get(t);
            }
        }
        return null;
    }
}
