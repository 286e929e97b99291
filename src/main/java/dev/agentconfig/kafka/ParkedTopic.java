package dev.agentconfig.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.save.SharedParking;
import org.apache.camel.CamelContext;
import org.apache.camel.Service;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The parking topic's producer (agentconfig.parking=kafka): a save the database could not take is one record
 * ({@link ParkedRecords}), sent with {@code acks=all} by an idempotent producer and waited for: the save is
 * answered only once the brokers acknowledged it. Bounded by agentconfig.kafka.park-timeout (the producer's
 * max.block.ms, request and delivery timeouts, and the wait here): beyond it the send fails and save/Parking puts
 * the save in the local store. A record whose acknowledgement came too late may still land on the topic: the save
 * is then parked twice, which is harmless (the drains replay the same per-field versions).
 *
 * <p>The drain's dead letters ({@code <parked-topic>.dlq}) go through the same producer.
 */
public final class ParkedTopic implements SharedParking, Service {
    private final CamelContext context;
    private final String bootstrapServers;
    private final String topic;
    private final Duration timeout;
    private volatile Producer<String, byte[]> producer;
    private volatile Supplier<Map<String, Object>> figures = Map::of;

    public ParkedTopic(CamelContext context, String bootstrapServers, String topic, Duration timeout) {
        this.context = context;
        this.bootstrapServers = bootstrapServers;
        this.topic = topic;
        this.timeout = timeout;
    }

    public String topic() {
        return topic;
    }

    public String deadLetterTopic() {
        return topic + ".dlq";
    }

    @Override
    public String describe() {
        return "Kafka topic " + topic;
    }

    /** Where health's figures come from (the drain's counts, the lag): set once the drain is wired. */
    public void figuresFrom(Supplier<Map<String, Object>> source) {
        this.figures = source;
    }

    @Override
    public Map<String, Object> figures() {
        return figures.get();
    }

    @Override
    public void park(PendingEntry entry, String traceparent) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, ParkedRecords.key(entry),
                ParkedRecords.encode(entry));
        if (traceparent != null) {
            record.headers().add(ParkedRecords.TRACEPARENT, traceparent.getBytes(StandardCharsets.US_ASCII));
        }
        send(record);
    }

    /**
     * A record of the parking topic to its dead-letter topic, acknowledged (acks=all) before this returns.
     *
     * @param headers the reason and the source record's place (no value, no plaintext)
     */
    public void deadLetter(String key, byte[] value, Map<String, String> headers) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(deadLetterTopic(), key, value);
        headers.forEach((k, v) -> {
            if (v != null) {
                record.headers().add(k, v.getBytes(StandardCharsets.UTF_8));
            }
        });
        send(record);
    }

    private void send(ProducerRecord<String, byte[]> record) {
        Producer<String, byte[]> p = producer;
        if (p == null) {
            throw new IllegalStateException("the parking topic's producer is stopped");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            // send blocks for metadata at most max.block.ms (the bound); the acknowledgement is waited for in what
            // is left of it
            p.send(record).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while parking on " + record.topic(), e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("not acknowledged by the brokers: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("no acknowledgement of the brokers within " + timeout.toMillis() + " ms", e);
        }
    }

    @Override
    public void start() {
        // the connection settings of camel-kafka (camel.component.kafka.*: security, SASL, TLS), plus ours
        Properties props = KafkaConnection.producer(context, bootstrapServers);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "agentconfig-parking");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        String bound = String.valueOf(Math.max(1, timeout.toMillis()));
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, bound);
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, bound);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, bound);
        producer = KafkaConnection.create(() -> new KafkaProducer<>(props));
    }

    @Override
    public void stop() {
        Producer<String, byte[]> p = producer;
        producer = null;
        if (p != null) {
            p.close(Duration.ofSeconds(5));
        }
    }
}
