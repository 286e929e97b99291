package dev.agentconfig.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.json.Json;
import dev.agentconfig.read.ParkedSaves;
import dev.agentconfig.testing.KafkaBroker;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The parked topic's read view against a real broker (an in-process KRaft node), without the service: what it
 * answers for a user is every save parked before the read (the newest version of each field, whatever the order
 * of the records), it forgets what the drain group committed past, it starts at that group's offsets, and a
 * view that cannot reach the end of the topic says so within its bound instead of answering.
 */
class ParkedViewTest {
    private static final KafkaBroker BROKER = KafkaBroker.shared();
    private final String topic = KafkaBroker.unique("parked");
    private final String group = KafkaBroker.unique("drain");
    private final DefaultCamelContext context = new DefaultCamelContext();
    private ParkedView view;

    @BeforeEach
    void start() {
        BROKER.createTopic(topic, 2);
        context.start();
    }

    @AfterEach
    void stop() {
        if (view != null) {
            view.stop();
        }
        context.stop();
    }

    private ParkedView view(String bootstrap, String topicName) {
        ParkedView v = new ParkedView(context, bootstrap,
                new ParkedViewSettings(topicName, group, Duration.ofSeconds(2), Duration.ofMillis(200),
                        Duration.ofMillis(300)));
        v.start();
        return v;
    }

    /** A parked save as the parking producer writes it: the fields of its failed targets, the key sealed. */
    private static RecordMetadata park(String topic, UserKey user, Map<String, PendingEntry.FieldEntry> fields) {
        PendingEntry entry = new PendingEntry(1, user.tenantId(), user.userId().toString(), new TreeMap<>(fields),
                List.of("user_profiles", "user_settings"), PendingEntry.PENDING, null, 1, null,
                Instant.now().toString(), Instant.now().toString(), 1);
        return BROKER.send(topic, user.tenantId() + ":" + user.userId(), Json.write(entry), null);
    }

    private static PendingEntry.FieldEntry field(String value, long version) {
        return new PendingEntry.FieldEntry(value, version, UUID.randomUUID().toString());
    }

    private static UserKey user() {
        return new UserKey("acme", UUID.randomUUID());
    }

    @Test
    void aReadSeesEverySaveParkedBeforeItTheNewestVersionOfEachField() throws Exception {
        view = view(BROKER.bootstrapServers(), topic);
        UserKey user = user();
        UserKey other = user();
        long v1 = HybridLogicalClock.micros(Instant.now());
        // the newer save first, an older one after it (two instances' clocks): the newer value stays
        park(topic, user, Map.of("callAgentId", field("agent_new", v1 + 10), "smsAgentId", field("sms_1", v1)));
        park(topic, user, Map.of("callAgentId", field("agent_old", v1 + 5)));
        park(topic, other, Map.of("smsAgentId", field("sms_other", v1)));

        // no await: the read itself waits until the view has consumed what was acknowledged before it
        PendingEntry seen = view.pending(user).orElseThrow();
        assertThat(seen.fields().get("callAgentId").value()).isEqualTo("agent_new");
        assertThat(seen.fields().get("callAgentId").version()).isEqualTo(v1 + 10);
        assertThat(seen.fields().get("smsAgentId").value()).isEqualTo("sms_1");
        assertThat(seen.pendingTargets()).containsExactly("user_profiles", "user_settings");
        assertThat(view.pending(other).orElseThrow().fields()).containsOnlyKeys("smsAgentId");
        assertThat(view.pending(user()).isEmpty()).isTrue();

        // a save parked later is seen by the next read at once
        park(topic, user, Map.of("callAgentId", field("agent_newest", v1 + 20)));
        assertThat(view.pending(user).orElseThrow().fields().get("callAgentId").value()).isEqualTo("agent_newest");
    }

    @Test
    void whatTheDrainGroupCommittedPastIsForgottenAndANewViewStartsThere() throws Exception {
        view = view(BROKER.bootstrapServers(), topic);
        UserKey user = user();
        long v = HybridLogicalClock.micros(Instant.now());
        RecordMetadata first = park(topic, user, Map.of("callAgentId", field("agent_1", v)));
        RecordMetadata second = park(topic, user, Map.of("smsAgentId", field("sms_2", v + 1)));
        assertThat(first.partition()).isEqualTo(second.partition()); // one user, one key, one partition
        assertThat(view.pending(user).orElseThrow().fields()).containsOnlyKeys("callAgentId", "smsAgentId");
        TopicPartition partition = new TopicPartition(topic, first.partition());

        // the drain wrote the first record to both tables and committed past it (the group has no member here)
        BROKER.rewind(group, partition, first.offset() + 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> !view.pending(user).orElseThrow().fields().containsKey("callAgentId"));
        assertThat(view.pending(user).orElseThrow().fields()).containsOnlyKeys("smsAgentId");

        // a view started now begins at the group's offset: the first record is not read again
        ParkedView late = view(BROKER.bootstrapServers(), topic);
        try {
            assertThat(late.pending(user).orElseThrow().fields()).containsOnlyKeys("smsAgentId");
        } finally {
            late.stop();
        }

        BROKER.rewind(group, partition, second.offset() + 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> view.pending(user).isEmpty());
        assertThat(view.users()).isZero();
    }

    @Test
    void aViewThatCannotReachTheEndOfTheTopicSaysSoWithinItsBound() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        view = view("127.0.0.1:" + closedPort, topic);
        // it answers (Behind) instead of an empty "nothing parked": the read goes on with its other locations
        assertThatThrownBy(() -> view.pending(user())).isInstanceOf(ParkedSaves.Behind.class)
                .hasMessageContaining(topic);
        view.stop();

        // a topic that does not exist (yet) cannot be caught up with either
        view = view(BROKER.bootstrapServers(), KafkaBroker.unique("missing"));
        assertThatThrownBy(() -> view.pending(user())).isInstanceOf(ParkedSaves.Behind.class)
                .hasMessageContaining("not found");
    }
}
