package dev.agentconfig.core;

import java.util.Locale;

/** What happened to one target of a save, as the answer names it. */
public enum TargetState {
    /** Written to the table (or already there: a replay of the same save). */
    SAVED,
    /** The table holds a newer version of at least one field; ours was not applied there. */
    STALE,
    /** Could not be written now; parked in the local store and retried by the sync. */
    QUEUED,
    /** Refused by the database; parked in the local store until an operator retries it. */
    QUARANTINED,
    /** Not written (the user belongs to another tenant, or the save was refused before this target). */
    SKIPPED;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
