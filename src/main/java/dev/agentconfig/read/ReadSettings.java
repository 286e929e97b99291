package dev.agentconfig.read;

import org.apache.camel.CamelContext;

/**
 * The read path's own configuration keys (agentconfig.read.*, config/application.properties).
 *
 * @param lastKnownMaxUsers how many users' last-known copies this server keeps
 *                          (agentconfig.read.last-known.max-users, default 10000); beyond it the copy
 *                          confirmed longest ago is dropped
 */
public record ReadSettings(int lastKnownMaxUsers) {
    static final int DEFAULT_LAST_KNOWN_MAX_USERS = 10_000;

    public static ReadSettings from(CamelContext context) {
        int max = context.getPropertiesComponent().resolveProperty("agentconfig.read.last-known.max-users")
                .map(String::trim).filter(v -> !v.isEmpty()).map(Integer::parseInt).orElse(DEFAULT_LAST_KNOWN_MAX_USERS);
        if (max < 1) {
            throw new IllegalStateException("agentconfig.read.last-known.max-users must be at least 1");
        }
        return new ReadSettings(max);
    }
}
