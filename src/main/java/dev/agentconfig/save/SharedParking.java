package dev.agentconfig.save;

import java.util.Map;

import dev.agentconfig.core.PendingEntry;

/**
 * A parking place shared by every instance (agentconfig.parking=kafka: kafka/ParkedTopic), where {@link Parking}
 * puts a save the database could not take instead of this instance's local store.
 */
public interface SharedParking {

    /**
     * Makes the entry durable on the shared place: returns only once it is acknowledged there.
     *
     * @param entry       the save's own entry: only its failed targets' fields, the key sealed
     * @param traceparent the W3C traceparent of the request that parks it, or null
     * @throws RuntimeException when it could not be acknowledged within the configured bound (the save then goes
     *                          to the local store)
     */
    void park(PendingEntry entry, String traceparent);

    /** A word for logs and health: where it parks (e.g. "Kafka topic agentconfig.parked"). */
    String describe();

    /** Its figures for health and the diagnostics page (the drain's counts, the topic's lag); no I/O. */
    default Map<String, Object> figures() {
        return Map.of();
    }
}
