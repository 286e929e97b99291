package dev.agentconfig.testing;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A real Kafka broker in this JVM: one KRaft node (combined broker and controller) from Kafka's own
 * test kit, on a free port of 127.0.0.1. {@link #shared()} starts one for the whole test JVM (about
 * 6 s) and stops it when the JVM ends. Topics are not created automatically (as in production, see
 * docs/kafka.md): a test creates its own.
 */
public final class KafkaBroker implements AutoCloseable {
    private static KafkaBroker shared;

    private final KafkaClusterTestKit cluster;
    private final Admin admin;
    private final KafkaProducer<String, byte[]> producer;

    private KafkaBroker() throws Exception {
        // under target/: what a JVM that ends without a clean broker stop leaves goes with mvn clean
        java.nio.file.Path base = java.nio.file.Files.createDirectories(java.nio.file.Path.of("target", "kafka-broker"))
                .toAbsolutePath();
        TestKitNodes nodes = new TestKitNodes.Builder()
                .setBaseDirectory(java.nio.file.Files.createTempDirectory(base, "kraft-"))
                .setCombined(true)
                .setNumBrokerNodes(1)
                .setNumControllerNodes(1)
                .build();
        cluster = new KafkaClusterTestKit.Builder(nodes)
                .setConfigProp("auto.create.topics.enable", "false")
                .setConfigProp("group.initial.rebalance.delay.ms", "0")
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("offsets.topic.num.partitions", "1")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("group.min.session.timeout.ms", "1000")
                .build();
        cluster.format();
        cluster.startup();
        cluster.waitForReadyBrokers();
        Properties a = new Properties();
        a.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        admin = Admin.create(a);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        producer = new KafkaProducer<>(p);
    }

    public static synchronized KafkaBroker shared() {
        if (shared == null) {
            try {
                shared = new KafkaBroker();
            } catch (Exception e) {
                throw new IllegalStateException("cannot start the in-process Kafka broker", e);
            }
            KafkaBroker broker = shared;
            // a broker's orderly stop can take longer than the test runner waits for its JVM to end: a few
            // seconds, then the JVM ends anyway (the broker holds nothing the next run needs)
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                Thread stop = new Thread(() -> {
                    try {
                        broker.close();
                    } catch (Exception ignored) {
                        // the JVM is ending
                    }
                }, "stop-test-kafka-worker");
                stop.setDaemon(true);
                stop.start();
                try {
                    stop.join(5_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "stop-test-kafka"));
        }
        return shared;
    }

    public String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    public Admin admin() {
        return admin;
    }

    public static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    public void createTopic(String name, int partitions) {
        try {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create topic " + name, e);
        }
    }

    /**
     * A service parking on this broker (agentconfig.parking=kafka): the parking topic (with {@code partitions}) and
     * its dead-letter topic created, the drain group named, the front door's saves topic left uncreated (unused).
     * The class's own keys go on top of these.
     */
    public Properties parkingOnKafka(String parkedTopic, String group, int partitions) {
        createTopic(parkedTopic, partitions);
        createTopic(parkedTopic + ".dlq", 1);
        Properties p = new Properties();
        p.setProperty("agentconfig.kafka.bootstrap-servers", bootstrapServers());
        p.setProperty("agentconfig.kafka.saves-topic", unique("saves-unused"));
        p.setProperty("agentconfig.parking", "kafka");
        p.setProperty("agentconfig.kafka.parked-topic", parkedTopic);
        p.setProperty("agentconfig.kafka.parked-group-id", group);
        return p;
    }

    /** Sends one record and waits for the broker's acknowledgement; timestamp null: the producer's clock. */
    public RecordMetadata send(String topic, String key, String value, Long timestamp) {
        try {
            return producer.send(new ProducerRecord<>(topic, null, timestamp, key,
                    value == null ? null : value.getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot send to " + topic, e);
        }
    }

    public KafkaProducer<String, byte[]> producer() {
        return producer;
    }

    /** Every record of the topic now, read from the beginning by a consumer of no group. */
    public List<ConsumerRecord<String, byte[]>> records(String topic) {
        Map<TopicPartition, Long> end = endOffsets(topic);
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c)) {
            consumer.assign(end.keySet());
            consumer.seekToBeginning(end.keySet());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (end.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read " + topic + " to its end");
                }
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    public Map<TopicPartition, Long> endOffsets(String topic) {
        try {
            Set<TopicPartition> partitions = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS)
                    .get(topic).partitions().stream().map(p -> new TopicPartition(topic, p.partition()))
                    .collect(Collectors.toSet());
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            partitions.forEach(p -> latest.put(p, OffsetSpec.latest()));
            Map<TopicPartition, Long> end = new HashMap<>();
            admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS).forEach((p, info) -> end.put(p, info.offset()));
            return end;
        } catch (Exception e) {
            throw new IllegalStateException("cannot read the end offsets of " + topic, e);
        }
    }

    /** The group's committed offset per partition of the topic (a partition never committed: absent). */
    public Map<TopicPartition, Long> committed(String group, String topic) {
        try {
            Map<TopicPartition, OffsetAndMetadata> all = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            Map<TopicPartition, Long> out = new HashMap<>();
            all.forEach((p, o) -> {
                if (p.topic().equals(topic) && o != null) {
                    out.put(p, o.offset());
                }
            });
            return out;
        } catch (Exception e) {
            throw new IllegalStateException("cannot read the offsets of group " + group, e);
        }
    }

    /** Every partition of the topic committed up to its end. */
    public boolean allCommitted(String group, String topic) {
        Map<TopicPartition, Long> committed = committed(group, topic);
        return endOffsets(topic).entrySet().stream()
                .allMatch(e -> committed.getOrDefault(e.getKey(), 0L).equals(e.getValue()));
    }

    /** Sets the group's committed offset (the group must have no member: stop its consumers first). */
    public void rewind(String group, TopicPartition partition, long offset) {
        try {
            admin.alterConsumerGroupOffsets(group, Map.of(partition, new OffsetAndMetadata(offset)))
                    .all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot rewind group " + group, e);
        }
    }

    public static String header(ConsumerRecord<?, ?> record, String name) {
        var h = record.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws Exception {
        producer.close(Duration.ofSeconds(5));
        admin.close(Duration.ofSeconds(5));
        cluster.close();
    }
}
