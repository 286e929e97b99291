package dev.agentconfig.core;

import java.util.Locale;

/** What a failed database write means for the save; everything downstream branches on this. */
public enum FailureClass {
    /** The database is unreachable, overloaded or restarting: queue and retry with backoff. */
    TRANSIENT,
    /** A table, column, function or constraint the save needs is missing: queue, retry, report. */
    SCHEMA_DRIFT,
    /** The user already belongs to another tenant: refuse the save, write nothing. */
    TENANT_CONFLICT,
    /** The database refuses this data: quarantine until an operator asks for a retry. */
    REJECTED;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static FailureClass byId(String id) {
        return valueOf(id.toUpperCase(Locale.ROOT));
    }
}
