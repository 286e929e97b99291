package dev.agentconfig.kafka;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.ReplayBatch;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.read.LastKnownCopies;
import dev.agentconfig.sync.Backoff;
import dev.agentconfig.sync.Replays;
import dev.agentconfig.sync.Replays.ParkedSettlement;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bean "parkedDrain", the step of route kafka-parked-drain (agentconfig.parking=kafka): each record of the parking
 * topic ({@link ParkedRecords}) is written to the tables through the same write port as the local store's drain
 * (sync/Replays: transport/TargetWrites behind save/FailurePolicy, the entry's per-field versions, so a replay is
 * harmless), and settled as a local entry would be (sync/Settlement):
 * <ul>
 *   <li>drained (both tables hold it): its offset is committed;</li>
 *   <li>refused by the database (the classification that quarantines a local entry), or parked already
 *       quarantined, or not a parked entry at all: to {@code <parked-topic>.dlq} with the reason in headers (the
 *       value keeps the key sealed), then committed;</li>
 *   <li>the database away (a breaker held open), or a transient failure: not committed; its partition is paused
 *       at the record ({@link ParkedDrainGate}) until the breakers' probe finds the database back and the
 *       record's backoff (agentconfig.sync.backoff-*) is over, then read again from it.</li>
 * </ul>
 * One record at a time, in partition order: one user's parked saves are applied in the order they were parked.
 * An adapter at the edge (it takes the Exchange): the record's place and its commit come in camel-kafka's headers.
 */
public final class ParkedDrain {
    private static final Logger LOG = LoggerFactory.getLogger(ParkedDrain.class);

    private final Replays replays;
    private final LastKnownCopies lastKnownCopies;
    private final ParkedTopic topic;
    private final ParkedDrainGate gate;
    private final Backoff backoff;
    private final BooleanSupplier databaseAway;
    private final AtomicLong drained = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final AtomicLong replayed = new AtomicLong();
    private final AtomicLong held = new AtomicLong();
    /** partition -> {offset, attempts} of the record it retries (consumer thread). */
    private final Map<TopicPartition, long[]> attempts = new ConcurrentHashMap<>();

    public ParkedDrain(Replays replays, LastKnownCopies lastKnownCopies, ParkedTopic topic, ParkedDrainGate gate,
                       Backoff backoff, BooleanSupplier databaseAway) {
        this.replays = replays;
        this.lastKnownCopies = lastKnownCopies;
        this.topic = topic;
        this.gate = gate;
        this.backoff = backoff;
        this.databaseAway = databaseAway;
    }

    /** Route step: one record of the parking topic. */
    public void drain(Exchange exchange) {
        Message m = exchange.getMessage();
        TopicPartition partition = new TopicPartition(m.getHeader(KafkaConstants.TOPIC, String.class),
                m.getHeader(KafkaConstants.PARTITION, Integer.class));
        long offset = m.getHeader(KafkaConstants.OFFSET, Long.class);
        OffsetCommits.Commit commit = m.getHeader(KafkaConstants.MANUAL_COMMIT, OffsetCommits.Commit.class);
        String key = m.getHeader(KafkaConstants.KEY, String.class);
        byte[] value = m.getBody(byte[].class);
        m.getHeaders().clear();
        if (gate.holding(partition)) {
            return; // its partition waits at an earlier record: read again from there once resumed
        }
        PendingEntry entry;
        try {
            entry = ParkedRecords.decode(value);
        } catch (IllegalArgumentException e) {
            deadLetter(key, value, partition, offset, "undecodable", null, e.getMessage());
            done(commit, partition);
            return;
        }
        if (entry.quarantined()) {
            // refused by the database when it was saved: nothing to retry until someone fixes it
            deadLetter(ParkedRecords.key(entry), value, partition, offset, "quarantined", entry.lastError(), null);
            done(commit, partition);
            return;
        }
        if (databaseAway.getAsBoolean()) {
            wait(partition, offset, Instant.now(), false);
            return;
        }
        Optional<PendingEntry> left = replays.parkedWithoutRepeats(entry);
        if (left == null) {
            wait(partition, offset, retryAt(partition, offset), true);
            return;
        }
        if (left.isEmpty()) {
            drained.incrementAndGet(); // every save of it a repeat of one the database holds
            done(commit, partition);
            return;
        }
        replayed.incrementAndGet();
        ReplayBatch batch = replays.write(new ReplayBatch(List.of(WriteResult.of(left.get().asReplay()))));
        lastKnownCopies.writtenBatch(batch);
        ParkedSettlement settled = replays.settleParked(batch.entries().get(0), left.get());
        switch (settled.result()) {
            case DRAINED -> {
                drained.incrementAndGet();
                done(commit, partition);
            }
            case QUARANTINED -> {
                // what a table refused (the settled entry: only the refused targets pending, the reason)
                deadLetter(ParkedRecords.key(entry), ParkedRecords.encode(settled.entry()), partition, offset,
                        "refused", settled.entry().lastError(), null);
                done(commit, partition);
            }
            // not attempted (breaker open, no pool connection in time): again once the database takes writes
            case DEFERRED -> wait(partition, offset, Instant.now().plus(backoff.delay(1)), false);
            default -> wait(partition, offset, retryAt(partition, offset), true);
        }
    }

    private void wait(TopicPartition partition, long offset, Instant until, boolean charged) {
        held.incrementAndGet();
        gate.hold(partition, offset, until);
        if (LOG.isDebugEnabled()) {
            LOG.debug("Drain: {} waits at offset {} until {}{}", partition, offset, until,
                    charged ? "" : " and the database is back");
        }
    }

    /** The record failed once more: its next attempt after the sync's backoff for its attempts so far. */
    private Instant retryAt(TopicPartition partition, long offset) {
        long[] a = attempts.compute(partition, (p, was) -> was == null || was[0] != offset
                ? new long[] {offset, 1} : new long[] {offset, was[1] + 1});
        return Instant.now().plus(backoff.delay((int) Math.min(a[1], 64)));
    }

    private void done(OffsetCommits.Commit commit, TopicPartition partition) {
        attempts.remove(partition);
        if (commit != null) {
            commit.commit();
        }
    }

    private void deadLetter(String key, byte[] value, TopicPartition partition, long offset, String reason,
                            PendingEntry.ErrorInfo error, String detail) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("agentconfig-reason", reason);
        if (error != null) {
            headers.put("agentconfig-failure-class", error.failureClass());
            headers.put("agentconfig-code", error.code());
            headers.put("agentconfig-message", error.message());
            headers.put("agentconfig-target", error.target());
        }
        headers.put("agentconfig-detail", detail);
        headers.put("agentconfig-source-topic", partition.topic());
        headers.put("agentconfig-source-partition", String.valueOf(partition.partition()));
        headers.put("agentconfig-source-offset", String.valueOf(offset));
        // acknowledged before the source offset is committed; a failure here throws: the record is read again
        topic.deadLetter(key, value, headers);
        deadLettered.incrementAndGet();
        LOG.warn("Drain: parked record {} (offset {} of {}) to {}: {}{}", key, offset, partition, topic.deadLetterTopic(),
                reason, error == null ? (detail == null ? "" : " (" + detail + ")")
                        : " (" + error.failureClass() + " " + error.code() + " on " + error.target() + ")");
    }

    /** This instance's figures: drained, dead-lettered, replayed (write attempts), holds, paused partitions. */
    public Map<String, Object> figures() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("drained", drained.get());
        out.put("deadLettered", deadLettered.get());
        out.put("replays", replayed.get());
        out.put("holds", held.get());
        out.put("pausedPartitions", gate.pausedPartitions());
        return out;
    }

    public long drainedCount() {
        return drained.get();
    }

    public long deadLetteredCount() {
        return deadLettered.get();
    }

    public long replayCount() {
        return replayed.get();
    }
}
