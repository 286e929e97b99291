package dev.agentconfig.kafka;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.camel.CamelContext;
import org.apache.camel.Service;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The consumer lag of the drain group on the parking topic, for every instance alike (the topic's end offsets
 * against the group's committed offsets, asked with an admin client): how many parked saves wait for the tables.
 * Cached for agentconfig.kafka.parked-lag-ttl; a stale value is refreshed on a thread of its own, each call of the
 * broker bounded, so health and the diagnostics page never wait for the broker.
 */
public final class ParkedLag implements Service {
    private static final Duration CALL_BOUND = Duration.ofSeconds(3);

    private final CamelContext context;
    private final String bootstrapServers;
    private final String topic;
    private final String group;
    private final Duration ttl;
    private final AtomicReference<Lag> last = new AtomicReference<>();
    private final AtomicBoolean refreshing = new AtomicBoolean();
    private ExecutorService worker;
    private Admin admin;

    /**
     * @param lag   records of the topic not yet committed by the group (null: not known yet)
     * @param error why it could not be asked last time (null: it was)
     */
    public record Lag(Long lag, Instant at, String error) {
    }

    public ParkedLag(CamelContext context, String bootstrapServers, String topic, String group, Duration ttl) {
        this.context = context;
        this.bootstrapServers = bootstrapServers;
        this.topic = topic;
        this.group = group;
        this.ttl = ttl;
    }

    /** The latest figure (perhaps a little old); a refresh is started when it is older than the ttl. */
    public Lag now() {
        Lag l = last.get();
        if ((l == null || l.at().plus(ttl).isBefore(Instant.now())) && worker != null
                && refreshing.compareAndSet(false, true)) {
            worker.execute(() -> {
                try {
                    last.set(ask());
                } finally {
                    refreshing.set(false);
                }
            });
        }
        return l == null ? new Lag(null, Instant.now(), "not asked yet") : l;
    }

    private Lag ask() {
        try {
            long bound = CALL_BOUND.toMillis();
            List<TopicPartition> partitions = admin.describeTopics(List.of(topic)).allTopicNames()
                    .get(bound, TimeUnit.MILLISECONDS).get(topic).partitions().stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            partitions.forEach(p -> latest.put(p, OffsetSpec.latest()));
            Map<TopicPartition, Long> end = new HashMap<>();
            admin.listOffsets(latest).all().get(bound, TimeUnit.MILLISECONDS).forEach((p, i) -> end.put(p, i.offset()));
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(bound, TimeUnit.MILLISECONDS);
            long lag = 0;
            for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
                OffsetAndMetadata c = committed.get(e.getKey());
                lag += Math.max(0, e.getValue() - (c == null ? 0 : c.offset()));
            }
            return new Lag(lag, Instant.now(), null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Lag(null, Instant.now(), "interrupted");
        } catch (Exception e) {
            Lag before = last.get();
            return new Lag(before == null ? null : before.lag(), Instant.now(),
                    "the broker did not answer: " + e.getClass().getSimpleName());
        }
    }

    @Override
    public void start() {
        // the connection settings of camel-kafka (camel.component.kafka.*: security, SASL, TLS), plus ours
        Properties props = KafkaConnection.admin(context, bootstrapServers);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "agentconfig-parked-lag");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(CALL_BOUND.toMillis()));
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(CALL_BOUND.toMillis()));
        admin = KafkaConnection.create(() -> Admin.create(props));
        worker = context.getExecutorServiceManager().newSingleThreadExecutor(this, "parked-lag");
    }

    @Override
    public void stop() {
        if (worker != null) {
            context.getExecutorServiceManager().shutdownNow(worker);
            worker = null;
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(2));
            admin = null;
        }
    }
}
