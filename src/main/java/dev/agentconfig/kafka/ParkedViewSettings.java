package dev.agentconfig.kafka;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

import dev.agentconfig.config.Settings;
import org.apache.camel.CamelContext;

/**
 * The keys of the parked topic's read view (config/application.properties, docs/scaling.md): on when
 * {@code agentconfig.parking=kafka} and Kafka is configured.
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
    static final String KAFKA = "kafka";

    /** The view's settings when it is on: Kafka configured and agentconfig.parking=kafka. */
    public static Optional<ParkedViewSettings> from(CamelContext context, KafkaSettings kafka) {
        Function<String, Optional<String>> get = key -> context.getPropertiesComponent().resolveProperty(key)
                .map(String::trim)
                .filter(v -> !v.isEmpty());
        String parking = get.apply("agentconfig.parking").orElse("local").toLowerCase(Locale.ROOT);
        if (!KAFKA.equals(parking) || !kafka.enabled()) {
            return Optional.empty();
        }
        Duration readWait = Settings.duration(get.apply("agentconfig.kafka.parked-view.read-wait").orElse("500ms"));
        Duration prune = Settings.duration(get.apply("agentconfig.kafka.parked-view.prune-interval").orElse("1s"));
        if (readWait.isNegative() || prune.isZero() || prune.isNegative()) {
            throw new IllegalStateException("agentconfig.kafka.parked-view.read-wait must not be negative and "
                    + "agentconfig.kafka.parked-view.prune-interval must be positive");
        }
        Duration readTimeout = Duration.ofMillis(Long.parseLong(get.apply("agentconfig.read.timeout").orElse("1500")));
        return Optional.of(new ParkedViewSettings(get.apply("agentconfig.kafka.parked-topic").orElse("agentconfig.parked"),
                get.apply("agentconfig.kafka.parked-group-id").orElse("agentconfig-parked-drain"), readWait, prune,
                readTimeout.plus(readWait)));
    }
}
