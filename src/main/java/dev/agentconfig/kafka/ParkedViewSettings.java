package dev.agentconfig.kafka;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;

import dev.agentconfig.config.Settings;
import org.apache.camel.CamelContext;

/**
 * The keys of the parked topic's read view (config/application.properties, docs/scaling.md), on with
 * {@code agentconfig.parking=kafka} ({@link KafkaSettings.Parking}: the topic and the drain group).
 *
 * @param parkedTopic   agentconfig.kafka.parked-topic: where saves the database could not take are parked
 * @param drainGroup    agentconfig.kafka.parked-group-id: the consumer group that drains it into the tables; the
 *                      view starts at, and forgets what is before, that group's committed offsets
 * @param readWait      agentconfig.kafka.parked-view.read-wait: how long a read waits for the view to reach the
 *                      topic's end offsets; beyond it the location {@code parked_topic} is reported as timed out
 * @param pruneInterval agentconfig.kafka.parked-view.prune-interval: how often the view reads the drain group's
 *                      committed offsets (and looks for new partitions)
 * @param pruneGrace    what the drain committed is forgotten only this long after it was seen committed:
 *                      the read timeout (agentconfig.read.timeout) plus {@code readWait}, so that a read which
 *                      found the tables before the drain wrote them still finds the save in the view
 */
public record ParkedViewSettings(String parkedTopic, String drainGroup, Duration readWait, Duration pruneInterval,
                                 Duration pruneGrace) {

    /** The view of the parking topic of {@code parking} (agentconfig.parking=kafka). */
    public static ParkedViewSettings from(CamelContext context, KafkaSettings.Parking parking) {
        Function<String, Optional<String>> get = key -> context.getPropertiesComponent().resolveProperty(key)
                .map(String::trim)
                .filter(v -> !v.isEmpty());
        Duration readWait = Settings.duration(get.apply("agentconfig.kafka.parked-view.read-wait").orElse("500ms"));
        Duration prune = Settings.duration(get.apply("agentconfig.kafka.parked-view.prune-interval").orElse("1s"));
        if (readWait.isNegative() || prune.isZero() || prune.isNegative()) {
            throw new IllegalStateException("agentconfig.kafka.parked-view.read-wait must not be negative and "
                    + "agentconfig.kafka.parked-view.prune-interval must be positive");
        }
        Duration readTimeout = Settings.duration(get.apply("agentconfig.read.timeout").orElse("1500"));
        return new ParkedViewSettings(parking.topic(), parking.groupId(), readWait, prune, readTimeout.plus(readWait));
    }
}
