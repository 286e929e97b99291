package dev.agentconfig.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

import org.apache.camel.component.kafka.consumer.CommitManager;
import org.apache.camel.component.kafka.consumer.KafkaManualCommit;
import org.apache.camel.component.kafka.consumer.KafkaManualCommitFactory;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Bean "kafkaCommits", the saves consumer's kafkaManualCommitFactory: every offset of the saves topic is
 * committed by the door itself (routes/kafka.camel.yaml), only once the record's save returned durable or
 * the record was dead-lettered. Being none of camel-kafka's own factories, it leaves camel-kafka's commit
 * manager a no-op: nothing is committed behind the door's back, not even after a failed record.
 */
public final class OffsetCommits implements KafkaManualCommitFactory {

    @Override
    public KafkaManualCommit newInstance(CamelExchangePayload exchange, KafkaRecordPayload record,
                                         CommitManager commitManager) {
        return new Commit(exchange.consumer, record.partition, record.recordOffset, record.commitTimeout);
    }

    /**
     * Several records done at once (one per partition, each the last done of its partition): one commitSync for
     * them all, each partition resuming after its record. All taken on one consumer's thread.
     */
    public static void commit(Collection<Commit> lastDone) {
        if (lastDone.isEmpty()) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        Commit any = null;
        for (Commit c : lastDone) {
            offsets.merge(c.partition, new OffsetAndMetadata(c.offset + 1),
                    (a, b) -> a.offset() >= b.offset() ? a : b);
            any = c;
        }
        any.consumer.commitSync(offsets, Duration.ofMillis(any.timeoutMs));
    }

    /**
     * The commits of one record, run on the consumer's own thread (the route runs synchronously in it):
     * a KafkaConsumer must only be used by that thread.
     */
    public static final class Commit implements KafkaManualCommit {
        private final Consumer<?, ?> consumer;
        private final TopicPartition partition;
        private final long offset;
        private final long timeoutMs;

        Commit(Consumer<?, ?> consumer, TopicPartition partition, long offset, long timeoutMs) {
            this.consumer = consumer;
            this.partition = partition;
            this.offset = offset;
            this.timeoutMs = timeoutMs;
        }

        /** This record and every one before it on its partition are done: the group resumes after it. */
        @Override
        public void commit() {
            commitSync(offset + 1);
        }

        /** Every record before this one is done, this one is not: the group resumes at it. */
        public void commitBefore() {
            commitSync(offset);
        }

        private void commitSync(long next) {
            consumer.commitSync(Map.of(partition, new OffsetAndMetadata(next)), Duration.ofMillis(timeoutMs));
        }

        public TopicPartition partition() {
            return partition;
        }
    }
}
