package dev.agentconfig.db;

import java.time.Duration;
import java.util.function.Function;

import dev.agentconfig.config.Settings;
import org.apache.camel.CamelContext;

/**
 * The jdbc transport's group commit (agentconfig.db.group-commit.*, config/application.properties).
 *
 * @param writers  threads that write groups, each on one pool connection while it writes
 * @param maxGroup saves a writer takes into one group at most (a sync batch is never split)
 * @param queue    saves waiting for a writer at most; beyond it a save is parked at once
 * @param commitWait how long a save waits for its group's commit before it is parked instead
 */
public record GroupCommitSettings(int writers, int maxGroup, int queue, Duration commitWait) {

    public GroupCommitSettings {
        if (writers < 1 || maxGroup < 1 || queue < 1) {
            throw new IllegalStateException("agentconfig.db.group-commit.writers, .max-group and .queue must be at "
                    + "least 1");
        }
    }

    public static GroupCommitSettings from(CamelContext context) {
        Function<String, String> get = key -> context.getPropertiesComponent().resolveProperty(key)
                .map(String::trim).filter(v -> !v.isEmpty())
                .orElseThrow(() -> new IllegalStateException("configuration key " + key + " is required"));
        return new GroupCommitSettings(
                Integer.parseInt(get.apply("agentconfig.db.group-commit.writers")),
                Integer.parseInt(get.apply("agentconfig.db.group-commit.max-group")),
                Integer.parseInt(get.apply("agentconfig.db.group-commit.queue")),
                Settings.duration(get.apply("agentconfig.db.group-commit.wait")));
    }
}
