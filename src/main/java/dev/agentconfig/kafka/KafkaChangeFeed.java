package dev.agentconfig.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

import dev.agentconfig.core.ChangeFeed;
import dev.agentconfig.core.ConfigChange;
import dev.agentconfig.json.Json;
import dev.agentconfig.observe.Tracing;
import org.apache.camel.CamelContext;
import org.apache.camel.Service;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The change feed on agentconfig.kafka.events-topic: every save's outcome, and every local entry the
 * sync settled, keyed tenantId:userId, as JSON with field names and versions, never a value.
 *
 * <p>A save only offers its change to a bounded queue (agentconfig.kafka.events-queue) and goes on:
 * when the queue is full (the broker is slow or down) the change is dropped and counted
 * (agentconfig_kafka_events_dropped_total). One thread of this feed hands the queue to a Kafka
 * producer, which batches; a send that fails is counted the same way. The feed is a notification,
 * not a log of record: the tables are.
 */
public final class KafkaChangeFeed implements ChangeFeed, Service {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaChangeFeed.class);
    /** The record header of the W3C traceparent (observe/Tracing; KafkaTraceHeaders reads it on the door). */
    static final String TRACEPARENT = KafkaTraceHeaders.TRACEPARENT;

    private final CamelContext context;
    private final KafkaSettings settings;
    private final String topic;
    private final KafkaMeters meters;
    private final BlockingQueue<Queued> queue;
    private volatile boolean running;
    private ExecutorService worker;
    private Producer<String, byte[]> producer;

    public KafkaChangeFeed(CamelContext context, KafkaSettings settings, KafkaMeters meters) {
        this.context = context;
        this.settings = settings;
        this.topic = settings.eventsTopic().orElseThrow();
        this.meters = meters;
        this.queue = new ArrayBlockingQueue<>(settings.eventsQueue());
    }

    @Override
    public void publish(ConfigChange change) {
        // the trace of the save (or of the sync's replay) that made the change goes with its record
        if (!running || !queue.offer(new Queued(change, Tracing.traceparent()))) {
            meters.eventDropped(running ? "queue-full" : "stopped");
        }
    }

    /** A change waiting for the producer, with the W3C traceparent of the span that published it (or null). */
    private record Queued(ConfigChange change, String traceparent) {
    }

    /** The event's JSON: who, status, origin, saveId, each field's version, each table's outcome, when. */
    static byte[] json(ConfigChange change) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("tenantId", change.user().tenantId());
        event.put("userId", change.user().userId().toString());
        event.put("status", change.status());
        event.put("origin", change.origin().id());
        event.put("saveId", change.saveId() == null ? null : change.saveId().toString());
        Map<String, Long> fields = new LinkedHashMap<>();
        change.versions().forEach((f, v) -> fields.put(f.json(), v));
        event.put("fields", fields);
        Map<String, String> targets = new LinkedHashMap<>();
        change.targets().forEach((t, s) -> targets.put(t.table(), s.id()));
        event.put("targets", targets);
        event.put("at", change.at().toString());
        return Json.writeBytes(event);
    }

    @Override
    public void start() {
        // the connection settings of camel-kafka (camel.component.kafka.*: security, SASL, TLS), plus ours
        Properties props = KafkaConnection.producer(context, settings.bootstrapServers().orElseThrow());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "agentconfig-change-feed");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        producer = KafkaConnection.create(() -> new KafkaProducer<>(props));
        running = true;
        worker = context.getExecutorServiceManager().newSingleThreadExecutor(this, "kafka-change-feed");
        worker.execute(this::drain);
        LOG.info("Change feed on Kafka topic {} (at most {} changes waiting)", topic, settings.eventsQueue());
    }

    private void drain() {
        while (running || !queue.isEmpty()) {
            Queued queued;
            try {
                queued = queue.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (queued == null) {
                continue;
            }
            ConfigChange change = queued.change();
            try {
                ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, change.key(), json(change));
                if (queued.traceparent() != null) {
                    record.headers().add(TRACEPARENT, queued.traceparent().getBytes(StandardCharsets.US_ASCII));
                }
                // may block (metadata, a full buffer) while the broker is away: this thread, never a save
                producer.send(record, (metadata, error) -> {
                    if (error == null) {
                        meters.eventPublished();
                    } else {
                        meters.eventDropped("send-failed");
                        meters.error("change feed: " + error.getClass().getSimpleName());
                    }
                });
            } catch (RuntimeException e) {
                meters.eventDropped("send-failed");
                meters.error("change feed: " + e.getClass().getSimpleName());
            }
        }
    }

    @Override
    public void stop() {
        running = false;
        if (worker != null) {
            context.getExecutorServiceManager().shutdownGraceful(worker, 5_000);
            worker = null;
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
            producer = null;
        }
        long left = queue.size();
        queue.clear();
        for (long i = 0; i < left; i++) {
            meters.eventDropped("stopped");
        }
    }
}
