package dev.agentconfig.kafka;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;

import dev.agentconfig.config.Settings;
import org.apache.camel.CamelContext;

/**
 * The agentconfig.kafka.* keys (config/application.properties). The feature is on when
 * bootstrap-servers is set; routes/kafka.camel.yaml reads the same keys for its endpoints.
 */
public record KafkaSettings(Optional<String> bootstrapServers, String savesTopic, String groupId,
                            Optional<String> eventsTopic, int eventsQueue, Duration retryDelay,
                            Duration unreachableAfter, Duration sampleInterval) {

    public static KafkaSettings from(CamelContext context) {
        Function<String, Optional<String>> get = key -> context.getPropertiesComponent().resolveProperty(key)
                .map(String::trim)
                .filter(v -> !v.isEmpty());
        Function<String, String> req = key -> get.apply(key)
                .orElseThrow(() -> new IllegalStateException("configuration key " + key + " is required"));
        Optional<String> servers = get.apply("agentconfig.kafka.bootstrap-servers");
        if (servers.isEmpty()) {
            return new KafkaSettings(Optional.empty(), "", "", Optional.empty(), 0, Duration.ZERO, Duration.ZERO,
                    Duration.ZERO);
        }
        int queue = Integer.parseInt(req.apply("agentconfig.kafka.events-queue"));
        if (queue < 1) {
            throw new IllegalStateException("agentconfig.kafka.events-queue must be at least 1");
        }
        return new KafkaSettings(servers, req.apply("agentconfig.kafka.saves-topic"),
                req.apply("agentconfig.kafka.group-id"), get.apply("agentconfig.kafka.events-topic"), queue,
                Settings.duration(req.apply("agentconfig.kafka.retry-delay")),
                Settings.duration(req.apply("agentconfig.kafka.health.unreachable-after")),
                Settings.duration(req.apply("agentconfig.kafka.health.sample-interval")));
    }

    public boolean enabled() {
        return bootstrapServers.isPresent();
    }

    /** Where refused and quarantined records go (fixed name: the route's producer endpoint uses it too). */
    public String deadLetterTopic() {
        return savesTopic + ".dlq";
    }
}
