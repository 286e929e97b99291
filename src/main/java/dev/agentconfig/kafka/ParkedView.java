package dev.agentconfig.kafka;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import dev.agentconfig.core.LastWriterWins;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.read.ParkedSaves;
import org.apache.camel.CamelContext;
import org.apache.camel.Service;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This instance's view of the parked topic (agentconfig.parking=kafka), so that a read on any instance answers
 * a save parked by any other while it waits for the database (docs/scaling.md, "The read view").
 *
 * <p>Its own consumer, in no group: it is assigned every partition of the topic, commits nothing, and starts at
 * the drain group's committed offsets (what is before them is in both tables already). Per user it keeps, per
 * field, the newest parked value ({@link LastWriterWins}: the one rule, never a second comparison) with the
 * partition and offset it came from. Every {@code prune-interval} it reads the drain group's committed offsets
 * (an admin client) and forgets a value once the group committed past its record, {@code pruneGrace} after it
 * saw that commit: a read which found the tables before the drain wrote them still finds the value here.
 *
 * <p>A read ({@link #pending}) must see every save acknowledged before it: it asks the poll thread for the
 * topic's end offsets as of now and waits until the view has consumed up to them, at most {@code read-wait};
 * otherwise it is told {@link ParkedSaves.Behind} and the read reports {@code parked_topic} as timed out.
 * Reads that arrive together share one round (one end-offsets request).
 *
 * <p>The consumer is touched only by the view's thread (a KafkaConsumer is not thread-safe); a read only
 * wakes it ({@code wakeup()}, the one thread-safe call) and waits on a monitor.
 */
public final class ParkedView implements ParkedSaves, Service {
    private static final Logger LOG = LoggerFactory.getLogger(ParkedView.class);
    /** How long one poll waits when nothing comes (a read wakes it at once). */
    private static final Duration POLL = Duration.ofMillis(250);
    /** The bound of a blocking call to the brokers (end offsets, committed offsets, partitions). */
    private static final Duration API_TIMEOUT = Duration.ofSeconds(2);

    private final CamelContext context;
    private final String bootstrapServers;
    private final ParkedViewSettings settings;
    private final String topic;

    /** Per user: what waits on the topic. Guarded by itself. */
    private final Map<UserKey, Held> users = new HashMap<>();
    /** The newest read waiting (System.nanoTime() when it asked). */
    private final AtomicLong requested;
    /** Guards {@link #syncedAt}; readers wait on it. */
    private final Object progress = new Object();
    /** The view holds every record acknowledged before this instant (System.nanoTime()). */
    private long syncedAt;
    private final AtomicLong decodeFailures = new AtomicLong();
    private volatile boolean polling;
    private volatile boolean running;
    private volatile String problem;

    // ---- the poll thread's own state ----
    private KafkaConsumer<byte[], byte[]> consumer;
    private Admin admin;
    private ExecutorService worker;
    private Set<TopicPartition> assigned = Set.of();
    private Map<TopicPartition, Long> target;
    private long targetAt;
    private long nextPrune;
    /** The drain group's committed offsets as seen, oldest first, each with when it was seen. */
    private final Deque<Committed> seen = new ArrayDeque<>();

    private record Committed(long at, Map<TopicPartition, Long> offsets) {
    }

    /** One field's newest parked value and the record it came from. */
    private record Value(PendingEntry.FieldEntry entry, TopicPartition partition, long offset) {
    }

    /** One user's parked saves, merged. */
    private static final class Held {
        final Map<String, Value> fields = new TreeMap<>();
        /** Per target still waiting: the partition and newest offset of a record that parked it. */
        final Map<String, Value> targets = new TreeMap<>();
        PendingEntry newest;
        String firstParkedAt;
    }

    public ParkedView(CamelContext context, String bootstrapServers, ParkedViewSettings settings) {
        this.context = context;
        this.bootstrapServers = bootstrapServers;
        this.settings = settings;
        this.topic = settings.parkedTopic();
        long now = System.nanoTime();
        this.syncedAt = now - TimeUnit.DAYS.toNanos(365);
        this.requested = new AtomicLong(syncedAt);
    }

    // ----- reads (any thread) -------------------------------------------------------------------

    @Override
    public Optional<PendingEntry> pending(UserKey key) throws Behind {
        long asked = System.nanoTime();
        requested.accumulateAndGet(asked, (a, b) -> a - b >= 0 ? a : b);
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (polling && c != null) {
            c.wakeup();
        }
        long deadline = asked + settings.readWait().toNanos();
        synchronized (progress) {
            while (syncedAt - asked < 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !running) {
                    String why = problem;
                    throw new Behind("not caught up with " + topic + " within " + settings.readWait().toMillis() + " ms"
                            + (why == null ? "" : " (" + why + ")"));
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(progress, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new Behind("interrupted");
                }
            }
        }
        return snapshot(key);
    }

    /** How many users have saves waiting on the topic, as this view holds them. */
    public int users() {
        synchronized (users) {
            return users.size();
        }
    }

    /** Records of the topic this view could not read as a parked save (left to the drain's dead-letter topic). */
    public long undecodable() {
        return decodeFailures.get();
    }

    private Optional<PendingEntry> snapshot(UserKey key) {
        synchronized (users) {
            Held held = users.get(key);
            if (held == null || held.fields.isEmpty()) {
                return Optional.empty();
            }
            Map<String, PendingEntry.FieldEntry> fields = new TreeMap<>();
            held.fields.forEach((name, v) -> fields.put(name, v.entry()));
            PendingEntry last = held.newest;
            return Optional.of(new PendingEntry(1, key.tenantId(), key.userId().toString(), fields,
                    List.copyOf(new TreeSet<>(held.targets.keySet())), PendingEntry.PENDING, last.lastError(),
                    last.attempts(), null, held.firstParkedAt, last.updatedAt(), 0));
        }
    }

    // ----- the poll thread ----------------------------------------------------------------------

    @Override
    public void start() {
        // the connection settings of camel-kafka (camel.component.kafka.*: security, SASL, TLS), plus ours
        Properties props = KafkaConnection.consumer(context, bootstrapServers);
        props.remove(ConsumerConfig.GROUP_ID_CONFIG); // in no group: it never joins nor commits
        props.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "agentconfig-parked-view");
        props.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(API_TIMEOUT.toMillis()));
        Properties adminProps = KafkaConnection.admin(context, bootstrapServers);
        adminProps.put(AdminClientConfig.CLIENT_ID_CONFIG, "agentconfig-parked-view-admin");
        adminProps.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(API_TIMEOUT.toMillis()));
        adminProps.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(API_TIMEOUT.toMillis()));
        consumer = KafkaConnection.create(() -> new KafkaConsumer<>(props));
        admin = KafkaConnection.create(() -> Admin.create(adminProps));
        running = true;
        worker = context.getExecutorServiceManager().newSingleThreadExecutor(this, "kafka-parked-view");
        worker.execute(this::run);
        LOG.info("Parked saves: reads see topic {} through this instance's view (from the offsets of group {}; "
                + "a read waits at most {} ms for it)", topic, settings.drainGroup(), settings.readWait().toMillis());
    }

    private void run() {
        try {
            while (running) {
                try {
                    turn();
                } catch (WakeupException e) {
                    // a read arrived while the thread was not polling: the next turn sees to it
                } catch (KafkaException e) {
                    trouble(e.getClass().getSimpleName() + ": " + e.getMessage());
                    pause(POLL);
                } catch (RuntimeException e) {
                    LOG.warn("Parked view: unexpected failure, going on", e);
                    trouble(e.getClass().getSimpleName());
                    pause(POLL);
                }
            }
        } finally {
            try {
                consumer.close(Duration.ofSeconds(2));
            } catch (RuntimeException e) {
                LOG.debug("Parked view: consumer close failed: {}", e.toString());
            }
        }
    }

    /** One turn: poll, apply, see whether a waiting read can be answered, prune when due. */
    private void turn() {
        if (assigned.isEmpty() || System.nanoTime() - nextPrune >= 0) {
            refreshPartitions();
            if (assigned.isEmpty()) {
                pause(settings.pruneInterval());
                return;
            }
        }
        ConsumerRecords<byte[], byte[]> records;
        polling = true;
        try {
            // a read asking now sees the poll end at once (wakeup): it need not wait for records
            records = requested.get() - syncedAtSnapshot() > 0 && target == null ? ConsumerRecords.empty()
                    : consumer.poll(POLL);
        } catch (WakeupException e) {
            records = ConsumerRecords.empty();
        } finally {
            polling = false;
        }
        apply(records);
        catchUp();
        if (System.nanoTime() - nextPrune >= 0) {
            prune();
            nextPrune = System.nanoTime() + settings.pruneInterval().toNanos();
        }
    }

    private long syncedAtSnapshot() {
        synchronized (progress) {
            return syncedAt;
        }
    }

    /**
     * A read waits: the end offsets now (taken after the read asked) are the mark; once the view has consumed up
     * to them, every save acknowledged before the read is in it.
     */
    private void catchUp() {
        if (target == null) {
            if (requested.get() - syncedAtSnapshot() <= 0) {
                return;
            }
            long at = System.nanoTime();
            target = consumer.endOffsets(assigned, API_TIMEOUT);
            targetAt = at;
        }
        for (Map.Entry<TopicPartition, Long> e : target.entrySet()) {
            if (consumer.position(e.getKey(), API_TIMEOUT) < e.getValue()) {
                return;
            }
        }
        target = null;
        problem = null;
        synchronized (progress) {
            if (targetAt - syncedAt > 0) {
                syncedAt = targetAt;
            }
            progress.notifyAll();
        }
    }

    /** Every partition of the topic assigned; a new one starts at the drain group's offset (or its beginning). */
    private void refreshPartitions() {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, API_TIMEOUT);
        Set<TopicPartition> all = new HashSet<>();
        if (infos != null) {
            infos.forEach(p -> all.add(new TopicPartition(p.topic(), p.partition())));
        }
        if (all.isEmpty()) {
            trouble("topic " + topic + " not found");
            return;
        }
        if (all.equals(assigned)) {
            return;
        }
        Set<TopicPartition> added = new HashSet<>(all);
        added.removeAll(assigned);
        Map<TopicPartition, Long> committed = committed();
        consumer.assign(all);
        for (TopicPartition p : added) {
            Long offset = committed.get(p);
            if (offset == null) {
                consumer.seekToBeginning(List.of(p));
            } else {
                consumer.seek(p, offset);
            }
        }
        assigned = Set.copyOf(all);
        target = null;
        LOG.info("Parked view: {} partitions of {} assigned ({} new)", all.size(), topic, added.size());
    }

    /** The drain group's committed offsets now, per partition of the topic (a partition never committed: absent). */
    private Map<TopicPartition, Long> committed() {
        try {
            Map<TopicPartition, OffsetAndMetadata> all = admin.listConsumerGroupOffsets(settings.drainGroup())
                    .partitionsToOffsetAndMetadata().get(API_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            Map<TopicPartition, Long> out = new HashMap<>();
            all.forEach((p, o) -> {
                if (o != null && p.topic().equals(topic)) {
                    out.put(p, o.offset());
                }
            });
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted", e);
        } catch (Exception e) {
            throw new KafkaException("committed offsets of group " + settings.drainGroup() + " not readable", e);
        }
    }

    private void apply(ConsumerRecords<byte[], byte[]> records) {
        if (records.isEmpty()) {
            return;
        }
        synchronized (users) {
            for (ConsumerRecord<byte[], byte[]> r : records) {
                PendingEntry entry;
                UserKey key;
                try {
                    entry = ParkedRecords.decode(r.value());
                    key = entry.key();
                } catch (RuntimeException e) {
                    // never the value in a log: it holds a sealed key; the drain sends the record to the DLQ
                    decodeFailures.incrementAndGet();
                    LOG.warn("Parked view: record {}-{}@{} is not a parked save, skipped ({})", r.topic(), r.partition(),
                            r.offset(), e.getClass().getSimpleName());
                    continue;
                }
                TopicPartition p = new TopicPartition(r.topic(), r.partition());
                Held held = users.computeIfAbsent(key, k -> new Held());
                entry.fields().forEach((name, fe) -> {
                    Value current = held.fields.get(name);
                    if (current == null || LastWriterWins.replaces(fe.version(), current.entry().version())) {
                        held.fields.put(name, new Value(fe, p, r.offset()));
                    }
                });
                for (String t : entry.pendingTargets()) {
                    held.targets.put(t, new Value(null, p, r.offset()));
                }
                held.newest = entry;
                if (held.firstParkedAt == null) {
                    held.firstParkedAt = entry.createdAt() != null ? entry.createdAt()
                            : Instant.ofEpochMilli(r.timestamp()).toString();
                }
            }
        }
    }

    /**
     * Forgets what the drain group committed past, {@code pruneGrace} after the commit was seen; a partition the
     * view lags behind such a commit on is moved up to it (those records are in both tables).
     */
    private void prune() {
        Map<TopicPartition, Long> now = committed();
        long seenAt = System.nanoTime(); // after the answer: no commit it shows is later than this
        seen.addLast(new Committed(seenAt, now));
        long grace = settings.pruneGrace().toNanos();
        Committed usable = null;
        while (!seen.isEmpty() && seenAt - seen.peekFirst().at() >= grace) {
            usable = seen.pollFirst();
        }
        if (usable != null) {
            seen.addFirst(usable); // the newest old enough: used until a newer one is
        }
        if (usable == null) {
            return;
        }
        Map<TopicPartition, Long> drained = usable.offsets();
        synchronized (users) {
            Iterator<Held> users = this.users.values().iterator();
            while (users.hasNext()) {
                Held held = users.next();
                held.fields.values().removeIf(v -> v.offset() < drained.getOrDefault(v.partition(), 0L));
                held.targets.values().removeIf(v -> v.offset() < drained.getOrDefault(v.partition(), 0L));
                if (held.fields.isEmpty()) {
                    users.remove();
                }
            }
        }
        for (TopicPartition p : assigned) {
            Long offset = drained.get(p);
            if (offset != null && consumer.position(p, API_TIMEOUT) < offset) {
                consumer.seek(p, offset);
            }
        }
    }

    private void trouble(String what) {
        if (!what.equals(problem)) {
            LOG.warn("Parked view of {}: {}", topic, what);
        }
        problem = what;
    }

    private static void pause(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void stop() {
        running = false;
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        if (worker != null) {
            context.getExecutorServiceManager().shutdownGraceful(worker, 5_000);
            worker = null;
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(2));
            admin = null;
        }
        synchronized (progress) {
            progress.notifyAll();
        }
    }

    /** For the logs: never a value. */
    @Override
    public String toString() {
        return "ParkedView[" + topic + ", " + users() + " users, " + new ArrayList<>(assigned).size() + " partitions]";
    }
}
