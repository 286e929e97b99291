package dev.agentconfig.read;

import java.util.Locale;

/** How a location answered a read. */
public enum LocationStatus {
    /** It holds something for the user (a row, or a local entry). */
    OK,
    /** It answered and holds nothing for the user under this tenant. */
    EMPTY,
    /** It failed (database down, missing column, unreadable store); see the failure class. */
    ERROR,
    /** It did not answer within agentconfig.read.timeout. */
    TIMEOUT;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean answered() {
        return this == OK || this == EMPTY;
    }
}
