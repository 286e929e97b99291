package dev.agentconfig.kafka;

import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The Kafka door's figures, on the service's meter registry (/observe/metrics) and in its health check:
 * records consumed (by outcome), committed, dead-lettered; the consumers' lag and assigned partitions;
 * the change feed's published and dropped events; the last error.
 */
public final class KafkaMeters {
    private final MeterRegistry registry;
    private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();
    private final AtomicLong consumed = new AtomicLong();
    private final AtomicLong committed = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final AtomicLong eventsDropped = new AtomicLong();
    private final AtomicReference<LastError> lastError = new AtomicReference<>();
    /** Partitions whose next record this instance is holding back (could not be made durable), since when. */
    private final ConcurrentHashMap<String, Instant> heldBack = new ConcurrentHashMap<>();

    /** What went wrong last: never exception text or record content (health is open). */
    public record LastError(Instant at, String what) {
    }

    public KafkaMeters(MeterRegistry registry, KafkaClients clients) {
        this.registry = registry;
        Gauge.builder("agentconfig.kafka.lag", clients, c -> c.view().lag())
                .description("records of the saves topic not yet consumed by this instance, over its partitions")
                .register(registry);
        Gauge.builder("agentconfig.kafka.assigned.partitions", clients, c -> c.view().assigned())
                .description("partitions of the saves topic assigned to this instance")
                .register(registry);
    }

    /** A record went through the save: saved, stale, queued, quarantined; or refused, or held back (503). */
    public void consumed(String outcome) {
        consumed.incrementAndGet();
        counter("agentconfig.kafka.consumed", "records of the saves topic consumed, by outcome", "outcome", outcome)
                .increment();
    }

    public void committed(long records) {
        if (records > 0) {
            committed.addAndGet(records);
            counter("agentconfig.kafka.committed", "records whose offsets were committed", null, null)
                    .increment(records);
        }
    }

    public void deadLettered(String reason) {
        deadLettered.incrementAndGet();
        counter("agentconfig.kafka.dead.lettered", "records sent to the dead-letter topic, by reason", "reason", reason)
                .increment();
    }

    public void eventPublished() {
        counter("agentconfig.kafka.events.published", "changes written to the events topic", null, null).increment();
    }

    public void eventDropped(String reason) {
        eventsDropped.incrementAndGet();
        counter("agentconfig.kafka.events.dropped", "changes not written to the events topic, by reason", "reason",
                reason).increment();
    }

    public void error(String what) {
        lastError.set(new LastError(Instant.now(), what));
    }

    /** A record of the partition could not be made durable: held back, read again. */
    public void heldBack(String partition, String what) {
        Instant now = Instant.now();
        heldBack.put(partition, now);
        lastError.set(new LastError(now, what));
    }

    /** A record of the partition was done: it is no longer held back. */
    public void released(String partition) {
        heldBack.remove(partition);
    }

    /**
     * Partitions held back lately (since {@code after}); older marks are forgotten: the partition may
     * have moved to another instance meanwhile (every retry rejoins the group).
     */
    public java.util.List<String> heldBackSince(Instant after) {
        heldBack.entrySet().removeIf(e -> e.getValue().isBefore(after));
        return heldBack.keySet().stream().sorted().toList();
    }

    public LastError lastError() {
        return lastError.get();
    }

    public long consumedCount() {
        return consumed.get();
    }

    public long committedCount() {
        return committed.get();
    }

    public long deadLetteredCount() {
        return deadLettered.get();
    }

    public long eventsDroppedCount() {
        return eventsDropped.get();
    }

    private Counter counter(String name, String description, String tag, String value) {
        return counters.computeIfAbsent(name + "/" + value, k -> {
            Counter.Builder b = Counter.builder(name).description(description);
            if (tag != null) {
                b.tag(tag, value);
            }
            return b.register(registry);
        });
    }
}
