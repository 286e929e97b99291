package dev.agentconfig.kafka;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.camel.component.kafka.DefaultKafkaClientFactory;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;

/**
 * Bean "kafkaClients", the saves consumer's kafkaClientFactory: camel-kafka's own clients, remembered
 * per consumer thread (a reconnect replaces its consumer) so that health and the meters can read their
 * metrics. Only {@code metrics()} is called from other threads: it is thread-safe, unlike the rest of a
 * KafkaConsumer.
 */
public final class KafkaClients extends DefaultKafkaClientFactory {
    private final Map<String, Consumer<?, ?>> consumers = new ConcurrentHashMap<>();

    @Override
    @SuppressWarnings("rawtypes")
    public Consumer getConsumer(Properties kafkaProps) {
        Consumer consumer = super.getConsumer(kafkaProps);
        // called on the consumer's own thread (camel-kafka's KafkaFetchRecords)
        consumers.put(Thread.currentThread().getName(), consumer);
        return consumer;
    }

    /** What the consumers of this instance report now. */
    public View view() {
        int assigned = 0;
        long lag = 0;
        int connections = 0;
        Map<String, Long> partitionLag = new TreeMap<>();
        for (Consumer<?, ?> c : consumers.values()) {
            Map<MetricName, ? extends Metric> metrics;
            try {
                metrics = c.metrics();
            } catch (RuntimeException e) {
                continue; // closed meanwhile
            }
            for (Map.Entry<MetricName, ? extends Metric> e : metrics.entrySet()) {
                MetricName n = e.getKey();
                double v = value(e.getValue());
                if (Double.isNaN(v)) {
                    continue;
                }
                if ("assigned-partitions".equals(n.name()) && "consumer-coordinator-metrics".equals(n.group())) {
                    assigned += (int) v;
                } else if ("connection-count".equals(n.name()) && "consumer-metrics".equals(n.group())) {
                    connections += (int) v;
                } else if ("records-lag".equals(n.name()) && "consumer-fetch-manager-metrics".equals(n.group())
                        && n.tags().containsKey("partition")) {
                    partitionLag.put(n.tags().get("topic") + "-" + n.tags().get("partition"), (long) v);
                    lag += (long) v;
                }
            }
        }
        return new View(consumers.size(), assigned, new ArrayList<>(partitionLag.keySet()), lag, connections);
    }

    private static double value(Metric m) {
        Object v = m.metricValue();
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /**
     * @param partitions the partitions this instance fetched from lately (those it is assigned)
     * @param lag        records behind the end of those partitions, summed
     * @param connections open connections to the brokers
     */
    public record View(int consumers, int assigned, List<String> partitions, long lag, int connections) {
    }
}
