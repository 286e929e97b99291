package dev.agentconfig.core;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * A sealed save and what each target made of it: the body of the save route between the target
 * writes and the answer.
 *
 * @param legacyKey the seed's plaintext key reported by the settings call (in memory only, never printed)
 * @param overtaken a fresh save that a table holds a newer version against, from a clock ahead of ours:
 *                  it is written once more at a version above it
 * @param audited   the save's audit row was written with the targets, in their transaction (jdbc)
 */
public record WriteResult(SealedSave save, Map<Target, TargetOutcome> outcomes, String legacyKey, boolean overtaken,
                          boolean audited) {

    public WriteResult {
        outcomes = Collections.unmodifiableMap(outcomes.isEmpty() ? new EnumMap<>(Target.class) : new EnumMap<>(outcomes));
    }

    public static WriteResult of(SealedSave save) {
        return new WriteResult(save, Map.of(), null, false, false);
    }

    public WriteResult with(TargetOutcome outcome) {
        Map<Target, TargetOutcome> m = new EnumMap<>(Target.class);
        m.putAll(outcomes);
        m.put(outcome.target(), outcome);
        return new WriteResult(save, m, outcome.legacyKey() != null ? outcome.legacyKey() : legacyKey, overtaken,
                audited);
    }

    /** Marked overtaken by a clock ahead of ours (see {@link #overtaken}). */
    public WriteResult markOvertaken() {
        return new WriteResult(save, outcomes, legacyKey, true, audited);
    }

    /** Its audit row is in the database, committed with the targets. */
    public WriteResult markAudited() {
        return new WriteResult(save, outcomes, legacyKey, overtaken, true);
    }

    /** The same outcome for every target that this save wrote: a transaction that did not commit. */
    public WriteResult uncommitted(Failure failure) {
        Map<Target, TargetOutcome> m = new EnumMap<>(Target.class);
        outcomes.forEach((t, o) -> m.put(t, o instanceof TargetOutcome.Saved || o instanceof TargetOutcome.Stale
                ? TargetOutcome.failed(t, failure) : o));
        return new WriteResult(save, m, legacyKey, overtaken, false);
    }

    /** Without the legacy key (once it is taken care of, or when it must not be adopted). */
    public WriteResult withoutLegacyKey() {
        return new WriteResult(save, outcomes, null, overtaken, audited);
    }

    public Optional<TargetOutcome> outcome(Target target) {
        return Optional.ofNullable(outcomes.get(target));
    }

    public TargetState state(Target target) {
        TargetOutcome o = outcomes.get(target);
        return o == null ? TargetState.SKIPPED : o.state();
    }

    /**
     * The outcomes as the save must treat them. A tenant conflict on user_settings after
     * user_profiles already took the save can only come from a race between two tenants: that
     * target is kept (quarantined) instead of half-refusing a save that is already partly stored.
     */
    public WriteResult resolved() {
        TargetOutcome settings = outcomes.get(Target.USER_SETTINGS);
        if (settings instanceof TargetOutcome.Conflict c && state(Target.USER_PROFILES) == TargetState.SAVED) {
            return with(new TargetOutcome.Quarantined(Target.USER_SETTINGS, c.failure()));
        }
        return this;
    }

    /** user_profiles is still to be written: the save is for it and it has no outcome there yet. */
    public boolean wantsProfile() {
        return save.writesProfile() && !outcomes.containsKey(Target.USER_PROFILES);
    }

    /** The same result without the outcome of a target (to write that target again). */
    public WriteResult without(Target target) {
        Map<Target, TargetOutcome> m = new EnumMap<>(Target.class);
        m.putAll(outcomes);
        m.remove(target);
        return new WriteResult(save, m, legacyKey, overtaken, audited);
    }

    /** user_settings is still to be written: the save is for it, and user_profiles found no other tenant. */
    public boolean wantsSettings() {
        return save.writesSettings() && !tenantConflict() && !outcomes.containsKey(Target.USER_SETTINGS);
    }

    /** True when the user belongs to another tenant (and nothing of this save was stored). */
    public boolean tenantConflict() {
        return outcomes.values().stream().anyMatch(o -> o instanceof TargetOutcome.Conflict);
    }

    /** The targets to park in the local store, with their failures. */
    public Map<Target, Failure> toPark() {
        Map<Target, Failure> m = new EnumMap<>(Target.class);
        outcomes.forEach((t, o) -> {
            if (o.parked()) {
                m.put(t, o.failure());
            }
        });
        return m;
    }

    public boolean needsParking() {
        return !save.replay() && outcomes.values().stream().anyMatch(TargetOutcome::parked);
    }

    /** The most significant failure: the first target's, in target order. */
    public Optional<Failure> firstFailure() {
        for (Target t : Target.values()) {
            TargetOutcome o = outcomes.get(t);
            if (o != null && o.failure() != null) {
                return Optional.of(o.failure());
            }
        }
        return Optional.empty();
    }

    /** Versions the targets reported holding (to keep the version clock causal). */
    public long newestStoredVersion() {
        long max = 0;
        for (TargetOutcome o : outcomes.values()) {
            Map<Field, Long> stored = o instanceof TargetOutcome.Saved s ? s.stored()
                    : o instanceof TargetOutcome.Stale st ? st.stored() : Map.of();
            max = Math.max(max, LastWriterWins.newest(stored));
        }
        return max;
    }

    @Override
    public String toString() {
        return "WriteResult[" + save + " " + outcomes.values().stream().map(o -> o.target().table() + "=" + o.state().id())
                .toList() + (legacyKey == null ? "" : " legacy-key") + "]";
    }
}
