package dev.agentconfig.read;

/**
 * The three places a user's configuration can live, in the tie order of the contract: on equal
 * versions user_profiles beats user_settings beats the local store.
 */
public enum Source {
    USER_PROFILES("user_profiles"),
    USER_SETTINGS("user_settings"),
    LOCAL_STORE("local_store");

    private final String id;

    Source(String id) {
        this.id = id;
    }

    /** The name used in answers ("sources", "fields.*.source"). */
    public String id() {
        return id;
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
