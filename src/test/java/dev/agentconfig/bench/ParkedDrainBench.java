package dev.agentconfig.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;

import dev.agentconfig.kafka.ParkedTopic;
import dev.agentconfig.save.Parking;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.testing.KafkaBroker;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * The drain of N parked saves (agentconfig.parking=kafka, the parking topic over 2 partitions, the in-process KRaft
 * broker) next to the local store's drain of the same N, in one run on one embedded PostgreSQL: N saves parked over
 * HTTP (8 clients) while the database is stopped, then the database started; the time until both tables hold all N
 * (and, on Kafka, every offset is committed). Not part of the suite (bench/ is excluded); run it with
 * {@code mvn -B -o test -Dtest=ParkedDrainBench -Dsurefire.failIfNoSpecifiedTests=false} (bench.parked, 10000).
 */
class ParkedDrainBench extends ServiceTestSupport {
    private static final KafkaBroker BROKER = KafkaBroker.shared();
    private static final int N = Integer.getInteger("bench.parked", 10_000);
    private static final String topic = KafkaBroker.unique("bench-parked");
    private static final String group = KafkaBroker.unique("bench-drain");

    @Override
    protected Properties extraProperties() {
        Properties p = BROKER.parkingOnKafka(topic, group, 2);
        p.setProperty("agentconfig.kafka.parked-poll-timeout", "200");
        return p;
    }

    @Test
    void kafkaDrainNextToTheLocalStores() throws Exception {
        Parking parking = context.getRegistry().lookupByNameAndType("parking", Parking.class);
        LocalStore store = context.getRegistry().lookupByNameAndType("localStore", LocalStore.class);
        ParkedTopic onKafka = context.getRegistry().findSingleByType(ParkedTopic.class);

        // the local store: parking switched to local for this phase
        parking.shareThrough(null);
        String localTenant = newTenant();
        park(localTenant);
        assertThat(store.pendingCount()).isEqualTo(N);
        long t0 = System.nanoTime();
        startDatabase();
        await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> store.pendingCount() == 0 && count("user_settings", localTenant) == N);
        double localS = (System.nanoTime() - t0) / 1e9;
        assertThat(count("user_profiles", localTenant)).isEqualTo(N);
        resetBreakers();

        // the parking topic
        parking.shareThrough(onKafka);
        String kafkaTenant = newTenant();
        park(kafkaTenant);
        assertThat(store.pendingCount()).isZero();
        long t1 = System.nanoTime();
        startDatabase();
        await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> count("user_settings", kafkaTenant) == N && BROKER.allCommitted(group, topic));
        double kafkaS = (System.nanoTime() - t1) / 1e9;
        assertThat(count("user_profiles", kafkaTenant)).isEqualTo(N);
        assertThat(BROKER.records(topic + ".dlq")).isEmpty();

        System.out.println(String.format(Locale.ROOT, "| local store's sync drain | %,d | %.1f s | %,.0f entries/s |",
                N, localS, N / localS));
        System.out.println(String.format(Locale.ROOT, "| parking topic's drain (2 partitions) | %,d | %.1f s | %,.0f "
                + "entries/s |", N, kafkaS, N / kafkaS));
    }

    private void park(String tenant) throws InterruptedException {
        stopDatabase();
        Load.Result r = Load.runCount(8, N, seq -> {
            int status = put(tenant, UUID.randomUUID(), "{\"callAgentId\":\"c" + seq + "\",\"smsAgentId\":\"s" + seq
                    + "\"}").statusCode();
            if (status != 202) {
                throw new IllegalStateException("not parked: " + status);
            }
        });
        assertThat(r.errors()).isZero();
    }

    private long count(String table, String tenant) {
        return ((Number) query("SELECT count(*) AS n FROM public." + table + " WHERE tenant_id = ?", tenant).get(0)
                .get("n")).longValue();
    }
}
