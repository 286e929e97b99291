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
                            Duration unreachableAfter, Duration sampleInterval, Parking parking) {

    /**
     * Where saves the database cannot take wait (agentconfig.parking): on the parking topic when {@code onKafka}
     * (drained by the consumer group {@code groupId}), else in the local store.
     *
     * @param timeout the bound of one park on the topic (agentconfig.kafka.park-timeout)
     * @param lagTtl  how long the drain group's lag is kept before the broker is asked again
     */
    public record Parking(boolean onKafka, String topic, String groupId, Duration timeout, Duration lagTtl) {
        static final Parking LOCAL = new Parking(false, "", "", Duration.ZERO, Duration.ZERO);
    }

    public static KafkaSettings from(CamelContext context) {
        Function<String, Optional<String>> get = key -> context.getPropertiesComponent().resolveProperty(key)
                .map(String::trim)
                .filter(v -> !v.isEmpty());
        Function<String, String> req = key -> get.apply(key)
                .orElseThrow(() -> new IllegalStateException("configuration key " + key + " is required"));
        Optional<String> servers = get.apply("agentconfig.kafka.bootstrap-servers");
        String mode = get.apply("agentconfig.parking").orElse("local");
        if (!mode.equals("local") && !mode.equals("kafka")) {
            throw new IllegalStateException("agentconfig.parking must be local or kafka, not '" + mode + "'");
        }
        if (mode.equals("kafka") && servers.isEmpty()) {
            throw new IllegalStateException("agentconfig.parking=kafka parks saves on a Kafka topic: it needs "
                    + "agentconfig.kafka.bootstrap-servers (AGENTCONFIG_KAFKA_BOOTSTRAP_SERVERS); set it, or "
                    + "agentconfig.parking=local");
        }
        if (servers.isEmpty()) {
            return new KafkaSettings(Optional.empty(), "", "", Optional.empty(), 0, Duration.ZERO, Duration.ZERO,
                    Duration.ZERO, Parking.LOCAL);
        }
        Parking parking = Parking.LOCAL;
        if (mode.equals("kafka")) {
            parking = new Parking(true, req.apply("agentconfig.kafka.parked-topic"),
                    req.apply("agentconfig.kafka.parked-group-id"),
                    Settings.duration(req.apply("agentconfig.kafka.park-timeout")),
                    Settings.duration(get.apply("agentconfig.kafka.parked-lag-ttl").orElse("5s")));
            if (parking.timeout().isZero() || parking.timeout().isNegative()) {
                throw new IllegalStateException("agentconfig.kafka.park-timeout must be positive");
            }
        }
        int queue = Integer.parseInt(req.apply("agentconfig.kafka.events-queue"));
        if (queue < 1) {
            throw new IllegalStateException("agentconfig.kafka.events-queue must be at least 1");
        }
        return new KafkaSettings(servers, req.apply("agentconfig.kafka.saves-topic"),
                req.apply("agentconfig.kafka.group-id"), get.apply("agentconfig.kafka.events-topic"), queue,
                Settings.duration(req.apply("agentconfig.kafka.retry-delay")),
                Settings.duration(req.apply("agentconfig.kafka.health.unreachable-after")),
                Settings.duration(req.apply("agentconfig.kafka.health.sample-interval")), parking);
    }

    public boolean enabled() {
        return bootstrapServers.isPresent();
    }

    /** Where refused and quarantined records go (fixed name: the route's producer endpoint uses it too). */
    public String deadLetterTopic() {
        return savesTopic + ".dlq";
    }
}
