package dev.agentconfig.bench;

import java.util.Properties;

import dev.agentconfig.testing.KafkaBroker;

/**
 * Parking on the Kafka topic (agentconfig.parking=kafka, acks=all, in-process KRaft broker), drained by the
 * consumer group; see {@link ParkingCost}.
 */
class ParkingCostKafka extends ParkingCost {
    private static final KafkaBroker BROKER = KafkaBroker.shared();
    private static final int PARTITIONS = 4;
    private static final String topic = KafkaBroker.unique("bench-parked");
    private static final String group = KafkaBroker.unique("bench-drain");

    @Override
    Properties parking() {
        BROKER.createTopic(topic, PARTITIONS);
        BROKER.createTopic(topic + ".dlq", 1);
        Properties p = new Properties();
        p.setProperty("agentconfig.kafka.bootstrap-servers", BROKER.bootstrapServers());
        p.setProperty("agentconfig.kafka.saves-topic", KafkaBroker.unique("saves-unused"));
        p.setProperty("agentconfig.parking", "kafka");
        p.setProperty("agentconfig.kafka.parked-topic", topic);
        p.setProperty("agentconfig.kafka.parked-group-id", group);
        p.setProperty("agentconfig.kafka.parked-poll-timeout", "200");
        return p;
    }

    @Override
    boolean drained() {
        return BROKER.allCommitted(group, topic) && localPending() == 0;
    }

    @Override
    String mode() {
        return "Kafka topic (" + PARTITIONS + " partitions, acks=all)";
    }
}
