package dev.agentconfig.kafka;

import java.util.Optional;

import dev.agentconfig.config.Beans;
import dev.agentconfig.config.Settings;
import dev.agentconfig.read.ReadSteps;
import dev.agentconfig.save.ChangeFeedRelay;
import dev.agentconfig.save.Saving;
import io.micrometer.core.instrument.Gauge;
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
        // parking on Kafka: a read on this instance sees the saves any instance parked on the topic
        Optional<ParkedViewSettings> parked = ParkedViewSettings.from(context, settings);
        if (parked.isPresent()) {
            ParkedView view = new ParkedView(context, settings.bootstrapServers().orElseThrow(), parked.get());
            context.addService(view, true, true);
            registry.bind("parkedView", view);
            Beans.require(context, "readSteps", ReadSteps.class).connect(view);
            Gauge.builder("agentconfig.kafka.parked.view.users", view, ParkedView::users)
                    .description("users with saves waiting on the parked topic, as this instance's read view holds them")
                    .register(meterRegistry);
        }
        LOG.info("Kafka: saves from topic {} (consumer group {}), refused and quarantined records to {}, change feed {}",
                settings.savesTopic(), settings.groupId(), settings.deadLetterTopic(),
                settings.eventsTopic().map(t -> "on topic " + t).orElse("off"));
    }
}
