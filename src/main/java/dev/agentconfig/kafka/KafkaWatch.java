package dev.agentconfig.kafka;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the Kafka consumers have a connection to the brokers, sampled every
 * agentconfig.kafka.health.sample-interval from the moment they exist, so the {@code kafka} health check
 * turns DOWN agentconfig.kafka.health.unreachable-after after the connection was lost (or never made), not
 * that long after somebody first asked. While there is none it asks the bootstrap servers itself (a TCP
 * connect) for the cause, kept as the Kafka door's last error ("connection refused at host:port"), and logs
 * one line per agentconfig.log.summary-interval; the Kafka client's own connection warnings (about 18 lines a
 * second) are rate-limited in log4j2.xml.
 */
public final class KafkaWatch extends ServiceSupport {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaWatch.class);

    private final KafkaClients clients;
    private final KafkaMeters meters;
    private final List<String> bootstrapServers;
    private final Duration sampleInterval;
    private final Duration summaryInterval;
    private volatile Instant unreachableSince;
    private volatile String cause;
    private Instant lastSummary;
    private ScheduledExecutorService sampler;

    public KafkaWatch(KafkaClients clients, KafkaMeters meters, String bootstrapServers, Duration sampleInterval,
                      Duration summaryInterval) {
        this.clients = clients;
        this.meters = meters;
        this.bootstrapServers = List.of(bootstrapServers.split("\\s*,\\s*"));
        this.sampleInterval = sampleInterval;
        this.summaryInterval = summaryInterval;
    }

    /** Since when the consumers have had no connection to the brokers, if they have none. */
    public Instant unreachableSince() {
        return unreachableSince;
    }

    /** Why, in words: what the bootstrap servers answered a connect (null while connected). */
    public String cause() {
        return cause;
    }

    /** One sample: the consumers' connections now (package-private: the tests call it). */
    synchronized void sample() {
        KafkaClients.View view = clients.view();
        Instant now = Instant.now();
        boolean unreachable = view.consumers() > 0 && view.connections() == 0;
        if (!unreachable) {
            if (unreachableSince != null && lastSummary != null) {
                LOG.info("Kafka: connected to the brokers again after {} s without", seconds(unreachableSince, now));
            }
            unreachableSince = null;
            cause = null;
            lastSummary = null;
            return;
        }
        if (unreachableSince == null) {
            unreachableSince = now;
        }
        String why = probe();
        if (!why.equals(cause)) {
            cause = why;
            meters.error("no connection to the Kafka brokers: " + why);
        }
        // a moment without a connection is normal at start and on a rebalance: logged after one interval
        boolean due = lastSummary == null ? Duration.between(unreachableSince, now).compareTo(summaryInterval) >= 0
                : Duration.between(lastSummary, now).compareTo(summaryInterval) >= 0;
        if (due) {
            LOG.warn("Kafka: no connection to the brokers for {} s ({}); saves from Kafka wait in the topic. The Kafka "
                    + "client's own connection warnings are limited to one per 10 s", seconds(unreachableSince, now), why);
            lastSummary = now;
        }
    }

    /** What each bootstrap server answers a TCP connect, in words. */
    private String probe() {
        List<String> answers = new ArrayList<>();
        int timeout = (int) Math.max(100, Math.min(1000, sampleInterval.toMillis()));
        for (String server : bootstrapServers) {
            int colon = server.lastIndexOf(':');
            String host = colon < 0 ? server : server.substring(0, colon);
            int port;
            try {
                port = colon < 0 ? 9092 : Integer.parseInt(server.substring(colon + 1));
            } catch (NumberFormatException e) {
                answers.add("not host:port: " + server);
                continue;
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, port), timeout);
                answers.add("the port answers at " + server
                        + " but the client has no connection (security settings, or the broker's advertised address)");
            } catch (UnknownHostException e) {
                answers.add("unknown host " + host);
            } catch (java.net.SocketTimeoutException e) {
                answers.add("no answer within " + timeout + " ms at " + server);
            } catch (java.net.ConnectException e) {
                answers.add("connection refused at " + server);
            } catch (IOException e) {
                answers.add("cannot connect to " + server + " (" + e.getClass().getSimpleName() + ")");
            }
        }
        return String.join("; ", answers);
    }

    private static long seconds(Instant from, Instant to) {
        return Duration.between(from, to).toSeconds();
    }

    @Override
    protected void doStart() {
        sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kafka-watch");
            t.setDaemon(true);
            return t;
        });
        long ms = sampleInterval.toMillis();
        sampler.scheduleWithFixedDelay(() -> {
            try {
                sample();
            } catch (RuntimeException e) {
                LOG.debug("Kafka watch: {}", e.toString());
            }
        }, ms, ms, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
        if (sampler != null) {
            sampler.shutdownNow();
        }
    }
}
