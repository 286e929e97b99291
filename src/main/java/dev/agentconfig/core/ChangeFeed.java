package dev.agentconfig.core;

/**
 * Where the outcome of every save (and of every local entry the sync settles) is told, for other
 * services to react to configuration changes. The save path and the sync call it; a feed must
 * neither slow nor fail them: an implementation hands the change over and returns at once. With no
 * feed configured, {@link #NONE}.
 */
public interface ChangeFeed {
    ChangeFeed NONE = change -> {
    };

    void publish(ConfigChange change);
}
