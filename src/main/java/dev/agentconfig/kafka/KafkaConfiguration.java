package dev.agentconfig.kafka;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

import dev.agentconfig.config.Beans;
import dev.agentconfig.config.Settings;
import dev.agentconfig.read.LastKnownCopies;
import dev.agentconfig.read.ReadSteps;
import dev.agentconfig.save.ChangeFeedRelay;
import dev.agentconfig.save.Parking;
import dev.agentconfig.save.TargetBreakers;
import dev.agentconfig.sync.Backoff;
import dev.agentconfig.sync.Replays;
import dev.agentconfig.sync.SyncSettings;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import dev.agentconfig.save.Saving;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka front door, its dead-letter topic and the change feed (routes/kafka.camel.yaml). Off while
 * agentconfig.kafka.bootstrap-servers is empty: then nothing is bound, the route is not loaded
 * (precondition), no client is created and no thread is started.
 */
public final class KafkaConfiguration implements CamelConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaConfiguration.class);

    @Override
    public void configure(CamelContext context) throws Exception {
        KafkaSettings settings = KafkaSettings.from(context);
        if (!settings.enabled()) {
            return;
        }
        Registry registry = context.getRegistry();
        KafkaClients clients = new KafkaClients();
        registry.bind("kafkaClients", clients);
        registry.bind("kafkaCommits", new OffsetCommits());
        // a record's traceparent header as text: the door's spans continue the producer's trace (observe/Tracing)
        registry.bind("kafkaTraceHeaders", new KafkaTraceHeaders());
        MeterRegistry meterRegistry = Beans.require(context, "meterRegistry", MeterRegistry.class);
        KafkaMeters meters = new KafkaMeters(meterRegistry, clients);
        registry.bind("kafkaDoor", new KafkaDoor(Beans.require(context, "saving", Saving.class), meters,
                settings.deadLetterTopic()));
        KafkaWatch watch = new KafkaWatch(clients, meters, settings.bootstrapServers().orElseThrow(),
                settings.sampleInterval(), Settings.duration(context.getPropertiesComponent()
                        .resolveProperty("agentconfig.log.summary-interval").orElse("10s")));
        context.addService(watch, true, true);
        KafkaHealthCheck health = new KafkaHealthCheck(watch, clients, meters, settings.unreachableAfter(),
                settings.retryDelay());
        health.setCamelContext(context);
        registry.bind("kafkaHealthCheck", health);
        // in Camel's health-check registry: /observe/health answers the group's checks from there
        org.apache.camel.health.HealthCheckRegistry.get(context).register(health);
        if (settings.eventsTopic().isPresent()) {
            KafkaChangeFeed feed = new KafkaChangeFeed(context, settings, meters);
            context.addService(feed, true, true);
            Beans.require(context, "changeFeed", ChangeFeedRelay.class).connect(feed);
        }
        if (settings.parking().onKafka()) {
            parkOnKafka(context, settings);
        }
        LOG.info("Kafka: saves from topic {} (consumer group {}), refused and quarantined records to {}, change feed {}",
                settings.savesTopic(), settings.groupId(), settings.deadLetterTopic(),
                settings.eventsTopic().map(t -> "on topic " + t).orElse("off"));
    }

    /**
     * agentconfig.parking=kafka: the save's dead-letter step (save/Parking) parks on the parking topic, and the
     * consumer group drains it (routes/kafka-parked.camel.yaml).
     */
    private static void parkOnKafka(CamelContext context, KafkaSettings settings) throws Exception {
        KafkaSettings.Parking parking = settings.parking();
        ParkedTopic topic = new ParkedTopic(context, settings.bootstrapServers().orElseThrow(), parking.topic(),
                parking.timeout());
        context.addService(topic, true, true);
        context.getRegistry().bind("parkedTopic", topic);
        Beans.require(context, "parking", Parking.class).shareThrough(topic);

        // the drain (route kafka-parked-drain): the local store's write port, its backoff, the breakers' probe
        TargetBreakers breakers = Beans.require(context, "targetBreakers", TargetBreakers.class);
        BooleanSupplier databaseAway = () -> breakers.openSince().isPresent();
        ParkedDrainGate gate = new ParkedDrainGate(() -> !databaseAway.getAsBoolean());
        context.getRegistry().bind("parkedDrainGate", gate);
        context.getRegistry().bind("parkedDrainDatabaseBack", (Predicate<Object>) x -> !databaseAway.getAsBoolean());
        SyncSettings sync = SyncSettings.from(context);
        ParkedDrain drain = new ParkedDrain(Beans.require(context, "replays", Replays.class),
                Beans.require(context, "lastKnownCopies", LastKnownCopies.class), topic, gate,
                new Backoff(sync.backoffBase(), sync.backoffMax()), databaseAway);
        context.getRegistry().bind("parkedDrain", drain);
        ParkedLag lag = new ParkedLag(context, settings.bootstrapServers().orElseThrow(), parking.topic(),
                parking.groupId(), parking.lagTtl());
        context.addService(lag, true, true);
        topic.figuresFrom(() -> {
            Map<String, Object> figures = new LinkedHashMap<>(drain.figures());
            ParkedLag.Lag l = lag.now();
            figures.put("topicLag", l.lag());
            figures.put("topicLagAt", l.at().toString());
            figures.put("topicLagError", l.error());
            return figures;
        });
        MeterRegistry meters = Beans.require(context, "meterRegistry", MeterRegistry.class);
        Parking parkingStep = Beans.require(context, "parking", Parking.class);
        FunctionCounter.builder("agentconfig.parking.kafka.parked", parkingStep, Parking::parkedSharedCount)
                .description("saves parked on the parking topic by this instance").register(meters);
        FunctionCounter.builder("agentconfig.parking.kafka.fell.back", parkingStep, Parking::fellBackCount)
                .description("saves parked in the local store because the broker did not take them in time")
                .register(meters);
        FunctionCounter.builder("agentconfig.parking.kafka.drained", drain, ParkedDrain::drainedCount)
                .description("parked records drained into both tables by this instance").register(meters);
        FunctionCounter.builder("agentconfig.parking.kafka.dead.lettered", drain, ParkedDrain::deadLetteredCount)
                .description("parked records sent to the parking topic's dead-letter topic by this instance")
                .register(meters);
        FunctionCounter.builder("agentconfig.parking.kafka.replays", drain, ParkedDrain::replayCount)
                .description("writes of parked records to the tables tried by this instance").register(meters);
        Gauge.builder("agentconfig.parking.kafka.lag", lag, l -> {
            Long v = l.now().lag();
            return v == null ? Double.NaN : v;
        }).description("records of the parking topic the drain group has not committed (all instances)")
                .register(meters);

        // a read on this instance sees the saves any instance parked on the topic (read/ReadSteps#localRead)
        ParkedView view = new ParkedView(context, settings.bootstrapServers().orElseThrow(),
                ParkedViewSettings.from(context, parking));
        context.addService(view, true, true);
        context.getRegistry().bind("parkedView", view);
        Beans.require(context, "readSteps", ReadSteps.class).connect(view);
        Gauge.builder("agentconfig.parking.kafka.view.users", view, ParkedView::users)
                .description("users with saves waiting on the parking topic, as this instance's read view holds them")
                .register(meters);
        LOG.info("Parking on Kafka: saves the database cannot take go to topic {} (acks=all, at most {} ms, else "
                + "the local store), drained by consumer group {}; poison entries to {}", parking.topic(),
                parking.timeout().toMillis(), parking.groupId(), topic.deadLetterTopic());
    }
}
