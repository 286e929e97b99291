package dev.agentconfig.kafka;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * Health of the Kafka door (Camel health check "kafka" of group "agentconfig"; /observe/health shows
 * it as check "kafka"): the partitions this instance is assigned, its lag, the figures, the last error.
 * DOWN while a record is held back because it could not be made durable (its partition waits), or
 * when the consumers have had no connection to the brokers for agentconfig.kafka.health.unreachable-after.
 * Health is open: no exception text, no record content.
 */
public final class KafkaHealthCheck extends AbstractHealthCheck {
    public static final String GROUP = "agentconfig";

    private final KafkaWatch watch;
    private final KafkaClients clients;
    private final KafkaMeters meters;
    private final Duration unreachableAfter;
    private final Duration heldBackFor;

    /** @param retryDelay a held-back record is read again this often: a mark older than a few of them is stale */
    public KafkaHealthCheck(KafkaWatch watch, KafkaClients clients, KafkaMeters meters, Duration unreachableAfter,
                            Duration retryDelay) {
        super(GROUP, "kafka");
        this.watch = watch;
        this.clients = clients;
        this.meters = meters;
        this.unreachableAfter = unreachableAfter;
        this.heldBackFor = retryDelay.multipliedBy(3).plusSeconds(30);
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        KafkaClients.View view = clients.view();
        Instant now = Instant.now();
        builder.detail("consumers", view.consumers());
        builder.detail("assignedPartitions", view.assigned());
        builder.detail("partitions", view.partitions());
        builder.detail("lag", view.lag());
        builder.detail("consumed", meters.consumedCount());
        builder.detail("committed", meters.committedCount());
        builder.detail("deadLettered", meters.deadLetteredCount());
        builder.detail("eventsDropped", meters.eventsDroppedCount());
        KafkaMeters.LastError error = meters.lastError();
        builder.detail("lastError", error == null ? null : error.what());
        builder.detail("lastErrorAt", error == null ? null : error.at().toString());

        // sampled from the start by the watch, not from the first time somebody asked
        Instant unreachableSince = watch.unreachableSince();
        java.util.List<String> held = meters.heldBackSince(now.minus(heldBackFor));
        builder.detail("heldBack", held);
        if (!held.isEmpty()) {
            builder.down().message("a record could not be made durable on " + held + " ("
                    + (error == null ? "" : error.what()) + "): its offset is not committed and it is read again; "
                    + "its partition waits (see the service log)");
        } else if (unreachableSince != null && Duration.between(unreachableSince, now).compareTo(unreachableAfter) >= 0) {
            String why = watch.cause();
            builder.down().message("no connection to the Kafka brokers for "
                    + Duration.between(unreachableSince, now).toSeconds() + " s" + (why == null ? "" : " (" + why + ")")
                    + ": saves from Kafka wait in the topic");
        } else {
            builder.up().message(view.assigned() + " partition(s) assigned, lag " + view.lag());
        }
    }
}
