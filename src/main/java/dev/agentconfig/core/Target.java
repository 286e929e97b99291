package dev.agentconfig.core;

/** The two database targets of a save, named as the tables they write, in the order they are written. */
public enum Target {
    USER_PROFILES("user_profiles"),
    USER_SETTINGS("user_settings");

    private final String table;

    Target(String table) {
        this.table = table;
    }

    public String table() {
        return table;
    }

    public static Target byTable(String table) {
        for (Target t : values()) {
            if (t.table.equals(table)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown target " + table);
    }
}
