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
        Properties p = BROKER.parkingOnKafka(topic, group, PARTITIONS);
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
