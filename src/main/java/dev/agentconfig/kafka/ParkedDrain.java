package dev.agentconfig.kafka;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
 * A poll's records at a time (camel-kafka batching, up to agentconfig.kafka.parked-max-poll-records): the records
 * to replay are written as one {@link ReplayBatch} (one group commit on jdbc, as the local store's sync), in poll
 * order, so one user's parked saves apply in the order they were parked (the write port puts a user's second save
 * of a group in a later round); then each is settled in offset order per partition up to the first that must wait
 * (its partition is held there, what follows is read again from it), and the batch's offsets are committed once:
 * per partition the last record settled + 1, in one commitSync.
 * An adapter at the edge (it takes the Exchanges): each record's place and commit come in camel-kafka's headers.
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
    private final AtomicLong batches = new AtomicLong();
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

    /** Route step: the records of a poll (camel-kafka batching: the body is one Exchange per record). */
    public void drain(Exchange batchExchange) {
        @SuppressWarnings("unchecked")
        List<Exchange> polled = batchExchange.getMessage().getBody(List.class);
        batchExchange.getMessage().getHeaders().clear();
        if (polled == null || polled.isEmpty()) {
            return;
        }
        List<Item> items = new ArrayList<>(polled.size());
        for (Exchange e : polled) {
            items.add(Item.of(e));
        }
        drainBatch(items);
    }

    private void drainBatch(List<Item> items) {
        batches.incrementAndGet();
        // 1. what each record is, in poll order (offset order per partition); a partition stops at the first
        //    record that must wait (its later records are not written: they are read again from it)
        Set<TopicPartition> stopped = new HashSet<>();
        boolean away = databaseAway.getAsBoolean();
        List<Item> toWrite = new ArrayList<>();
        for (Item item : items) {
            if (stopped.contains(item.partition) || gate.holding(item.partition)) {
                stopped.add(item.partition);
                item.kind = Kind.SKIPPED; // its partition waits at an earlier record
                continue;
            }
            try {
                item.entry = ParkedRecords.decode(item.value);
            } catch (IllegalArgumentException e) {
                item.kind = Kind.UNDECODABLE;
                item.detail = e.getMessage();
                continue;
            }
            if (item.entry.quarantined()) {
                item.kind = Kind.QUARANTINED; // refused by the database when it was saved: nothing to retry
                continue;
            }
            if (away) {
                item.kind = Kind.WAIT_FOR_DATABASE;
                stopped.add(item.partition);
                continue;
            }
            Optional<PendingEntry> left = replays.parkedWithoutRepeats(item.entry);
            if (left == null) {
                item.kind = Kind.WAIT_CHARGED;
                stopped.add(item.partition);
                continue;
            }
            if (left.isEmpty()) {
                item.kind = Kind.REPEAT; // every save of it a repeat of one the database holds
                continue;
            }
            item.kind = Kind.WRITE;
            item.left = left.get();
            toWrite.add(item);
        }
        // 2. one write for the records to replay: one group commit on jdbc (one user's saves in successive rounds,
        //    in the batch's order, so a user's parked saves still apply in the order they were parked)
        if (!toWrite.isEmpty()) {
            List<WriteResult> saves = new ArrayList<>(toWrite.size());
            for (Item item : toWrite) {
                saves.add(WriteResult.of(item.left.asReplay()));
            }
            replayed.addAndGet(toWrite.size());
            ReplayBatch written = replays.write(new ReplayBatch(saves));
            lastKnownCopies.writtenBatch(written);
            for (int i = 0; i < toWrite.size(); i++) {
                toWrite.get(i).written = written.entries().get(i);
            }
        }
        // 3. settled in order per partition, up to the first record that waits; 4. one commit for the batch
        stopped.clear();
        Map<TopicPartition, OffsetCommits.Commit> lastDone = new LinkedHashMap<>();
        try {
            for (Item item : items) {
                if (item.kind == Kind.SKIPPED || stopped.contains(item.partition)) {
                    continue;
                }
                if (settle(item)) {
                    attempts.remove(item.partition);
                    if (item.commit != null) {
                        lastDone.put(item.partition, item.commit);
                    }
                } else {
                    stopped.add(item.partition);
                }
            }
        } finally {
            // also when a dead-letter failed (thrown: the batch is read again from the first record not committed)
            if (!lastDone.isEmpty()) {
                OffsetCommits.commit(lastDone.values());
            }
        }
    }

    /** True when the record is done (its offset may be committed), false when its partition waits at it. */
    private boolean settle(Item item) {
        switch (item.kind) {
            case UNDECODABLE -> deadLetter(item.key, item.value, item.partition, item.offset, "undecodable", null,
                    item.detail);
            case QUARANTINED -> deadLetter(ParkedRecords.key(item.entry), item.value, item.partition, item.offset,
                    "quarantined", item.entry.lastError(), null);
            case REPEAT -> drained.incrementAndGet();
            case WAIT_FOR_DATABASE -> {
                wait(item.partition, item.offset, Instant.now(), false);
                return false;
            }
            case WAIT_CHARGED -> {
                wait(item.partition, item.offset, retryAt(item.partition, item.offset), true);
                return false;
            }
            case WRITE -> {
                ParkedSettlement settled = replays.settleParked(item.written, item.left);
                switch (settled.result()) {
                    case DRAINED -> drained.incrementAndGet();
                    // what a table refused (the settled entry: only the refused targets pending, the reason)
                    case QUARANTINED -> deadLetter(ParkedRecords.key(item.entry), ParkedRecords.encode(settled.entry()),
                            item.partition, item.offset, "refused", settled.entry().lastError(), null);
                    // not attempted (breaker open, no pool connection in time): again once the database takes writes
                    case DEFERRED -> {
                        wait(item.partition, item.offset, Instant.now().plus(backoff.delay(1)), false);
                        return false;
                    }
                    default -> {
                        wait(item.partition, item.offset, retryAt(item.partition, item.offset), true);
                        return false;
                    }
                }
            }
            default -> throw new IllegalStateException("unexpected " + item.kind);
        }
        return true;
    }

    private enum Kind { SKIPPED, UNDECODABLE, QUARANTINED, WAIT_FOR_DATABASE, WAIT_CHARGED, REPEAT, WRITE }

    /** One record of a poll, as camel-kafka handed it, and what the drain makes of it. */
    private static final class Item {
        final TopicPartition partition;
        final long offset;
        final OffsetCommits.Commit commit;
        final String key;
        final byte[] value;
        Kind kind;
        String detail;
        PendingEntry entry;
        PendingEntry left;
        WriteResult written;

        private Item(TopicPartition partition, long offset, OffsetCommits.Commit commit, String key, byte[] value) {
            this.partition = partition;
            this.offset = offset;
            this.commit = commit;
            this.key = key;
            this.value = value;
        }

        static Item of(Exchange exchange) {
            Message m = exchange.getMessage();
            Item item = new Item(new TopicPartition(m.getHeader(KafkaConstants.TOPIC, String.class),
                    m.getHeader(KafkaConstants.PARTITION, Integer.class)), m.getHeader(KafkaConstants.OFFSET, Long.class),
                    m.getHeader(KafkaConstants.MANUAL_COMMIT, OffsetCommits.Commit.class),
                    m.getHeader(KafkaConstants.KEY, String.class), m.getBody(byte[].class));
            m.getHeaders().clear();
            return item;
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
        out.put("batches", batches.get());
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
