package dev.agentconfig.read;

import java.util.List;

/**
 * The places a user's configuration can live, in the tie order of the contract: on equal versions
 * user_profiles beats user_settings beats the local store beats the parked topic beats the last-known copy.
 */
public enum Source {
    USER_PROFILES("user_profiles"),
    USER_SETTINGS("user_settings"),
    LOCAL_STORE("local_store"),
    /**
     * With {@code agentconfig.parking=kafka}: the saves waiting on the parked topic, as this instance's view of
     * it holds them ({@link ParkedSaves}). Read by the local store's branch (not a branch of its own), so it is
     * not in {@link #ASKED}: a read lists it only when that branch answered for it.
     */
    PARKED_TOPIC("parked_topic"),
    /**
     * This server's copy of what the tables last held ({@link LastKnownCopies}): asked only when a table
     * could not answer, and last in the tie order.
     */
    LAST_KNOWN("last_known");

    private final String id;

    Source(String id) {
        this.id = id;
    }

    /** The name used in answers ("sources", "fields.*.source"). */
    public String id() {
        return id;
    }

    /** The locations every read asks (the last-known copy only stands in for a table that cannot answer). */
    public static final List<Source> ASKED = List.of(USER_PROFILES, USER_SETTINGS, LOCAL_STORE);

    /** A table of the database. */
    public boolean table() {
        return this == USER_PROFILES || this == USER_SETTINGS;
    }

    public static Source byId(String id) {
        for (Source s : values()) {
            if (s.id.equals(id)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown location " + id);
    }
}
