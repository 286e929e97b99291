package dev.agentconfig.core;

import java.util.Map;

/** What one target made of a save. */
public sealed interface TargetOutcome {
    Target target();

    TargetState state();

    /** The failure, for the outcomes that have one. */
    default Failure failure() {
        return null;
    }

    /**
     * Written: every field of the save is now what the table holds (or it already was).
     *
     * @param legacyKey the seed's plaintext key the settings call reported (in memory only), or null
     */
    record Saved(Target target, Map<Field, Long> stored, String legacyKey) implements TargetOutcome {
        public TargetState state() {
            return TargetState.SAVED;
        }

        @Override
        public String toString() {
            return "Saved[" + target.table() + " " + stored + (legacyKey == null ? "" : " legacy-key") + "]";
        }
    }

    /** The table holds a newer version of at least one field: ours did not change it there. */
    record Stale(Target target, Map<Field, Long> stored, String legacyKey) implements TargetOutcome {
        public TargetState state() {
            return TargetState.STALE;
        }

        @Override
        public String toString() {
            return "Stale[" + target.table() + " " + stored + (legacyKey == null ? "" : " legacy-key") + "]";
        }
    }

    /** The plaintext legacy key a written target reported, or null. */
    default String legacyKey() {
        return null;
    }

    /** Not written now (transient, schema drift): parked, the sync retries it. */
    record Queued(Target target, Failure failure) implements TargetOutcome {
        public TargetState state() {
            return TargetState.QUEUED;
        }
    }

    /** Refused by the database: parked until an operator asks for a retry. */
    record Quarantined(Target target, Failure failure) implements TargetOutcome {
        public TargetState state() {
            return TargetState.QUARANTINED;
        }
    }

    /** The user belongs to another tenant: nothing written, nothing parked. */
    record Conflict(Target target, Failure failure) implements TargetOutcome {
        public TargetState state() {
            return TargetState.SKIPPED;
        }
    }

    /** The table answered with the versions it now holds: saved, or stale when it holds newer ones. */
    static TargetOutcome written(Target target, SealedSave save, Map<Field, Long> stored) {
        return written(target, save, stored, null);
    }

    static TargetOutcome written(Target target, SealedSave save, Map<Field, Long> stored, String legacyKey) {
        return LastWriterWins.superseded(save.versions(), stored) ? new Stale(target, stored, legacyKey)
                : new Saved(target, stored, legacyKey);
    }

    /** A write that failed, by the class of its failure. */
    static TargetOutcome failed(Target target, Failure failure) {
        return switch (failure.failureClass()) {
            case TRANSIENT, SCHEMA_DRIFT -> new Queued(target, failure);
            case REJECTED -> new Quarantined(target, failure);
            case TENANT_CONFLICT -> new Conflict(target, failure);
        };
    }

    /** The failure has reached the database and the target must be parked in the local store. */
    default boolean parked() {
        return this instanceof Queued || this instanceof Quarantined;
    }
}
