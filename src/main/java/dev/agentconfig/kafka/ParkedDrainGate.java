package dev.agentconfig.kafka;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

import org.apache.camel.component.kafka.consumer.errorhandler.KafkaConsumerListener;
import org.apache.camel.component.kafka.consumer.support.ProcessingResult;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Bean "parkedDrainGate", the consumer listener of the drain's pausable step (routes/kafka-parked.camel.yaml): the
 * partitions of the parking topic that must wait are paused at the record that waits (seeked back to it, so nothing
 * after it is skipped) and resumed, on the consumer's own thread after a poll, once the database is back (the
 * breakers' probe closed them) and the record's backoff is over. A paused partition polls nothing: no hot loop.
 *
 * <p>Every method runs on the drain's one consumer thread (a KafkaConsumer must only be used by it), except the
 * figures ({@link #pausedPartitions()}).
 */
public final class ParkedDrainGate extends KafkaConsumerListener {
    private final BooleanSupplier databaseBack;
    /** partition -> not resumed before (the record's backoff); the record waits at the offset seeked to. */
    private final Map<TopicPartition, Instant> held = new ConcurrentHashMap<>();

    /** @param databaseBack true while the database takes writes (no breaker held open) */
    public ParkedDrainGate(BooleanSupplier databaseBack) {
        this.databaseBack = databaseBack;
    }

    /**
     * True when the partition is paused here: the record is not processed (the partition is read again from the
     * record it waits at once resumed). A partition this gate held that is no longer paused (it was handed to this
     * instance again by a rebalance, from its committed offset) is released.
     */
    public boolean holding(TopicPartition partition) {
        if (!held.containsKey(partition)) {
            return false;
        }
        if (consumer().paused().contains(partition)) {
            return true;
        }
        held.remove(partition);
        return false;
    }

    /** The partition waits at this record (offset) until the database is back and {@code until} passed. */
    public void hold(TopicPartition partition, long offset, Instant until) {
        Consumer<?, ?> c = consumer();
        if (!holding(partition)) {
            c.seek(partition, offset);
            c.pause(List.of(partition));
        }
        held.put(partition, until);
    }

    /** After every poll: the held partitions whose wait is over are resumed. Always true: the poll's records go on. */
    @Override
    public boolean afterConsume(Object ignored) {
        if (held.isEmpty() || !databaseBack.getAsBoolean()) {
            return true;
        }
        Consumer<?, ?> c = consumer();
        Set<TopicPartition> assigned = c.assignment();
        Instant now = Instant.now();
        List<TopicPartition> resume = new ArrayList<>();
        held.entrySet().removeIf(e -> {
            if (!assigned.contains(e.getKey())) {
                return true; // revoked: its new owner reads it from the committed offset
            }
            if (!now.isBefore(e.getValue())) {
                resume.add(e.getKey());
                return true;
            }
            return false;
        });
        if (!resume.isEmpty()) {
            c.resume(resume);
        }
        return true;
    }

    /** A failed record is not paused on here (the drain decides what waits): the route goes on. */
    @Override
    public boolean afterProcess(ProcessingResult result) {
        return true;
    }

    /** The partitions paused now (for health), sorted. */
    public List<String> pausedPartitions() {
        return held.keySet().stream().map(TopicPartition::toString).sorted().toList();
    }

    private Consumer<?, ?> consumer() {
        Consumer<?, ?> c = getConsumer();
        if (c == null) {
            throw new IllegalStateException("the drain's consumer is not started");
        }
        return c;
    }
}
