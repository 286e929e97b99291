package dev.agentconfig.kafka;

import java.util.Properties;
import java.util.function.Supplier;

import org.apache.camel.CamelContext;
import org.apache.camel.component.kafka.KafkaComponent;
import org.apache.camel.component.kafka.KafkaConfiguration;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The connection settings of every Kafka client the service makes itself (the change feed, the parking topic's
 * producer, its read view, the drain group's lag): camel-kafka's own configuration ({@code camel.component.kafka.*}:
 * security, SASL, TLS), the brokers given, and the client made with Kafka's class loader as the context class loader
 * (Kafka loads its classes through it). Each caller adds its own keys on top.
 */
public final class KafkaConnection {
    private KafkaConnection() {
    }

    private static KafkaConfiguration camel(CamelContext context) {
        return context.getComponent("kafka", KafkaComponent.class).getConfiguration().copy();
    }

    public static Properties producer(CamelContext context, String bootstrapServers) {
        Properties props = camel(context).createProducerProperties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return props;
    }

    public static Properties consumer(CamelContext context, String bootstrapServers) {
        Properties props = new Properties();
        props.putAll(camel(context).createConsumerProperties());
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return props;
    }

    /** The consumer's settings an admin client knows (security, SASL, TLS, the brokers). */
    public static Properties admin(CamelContext context, String bootstrapServers) {
        Properties props = new Properties();
        consumer(context, bootstrapServers).forEach((k, v) -> {
            if (AdminClientConfig.configNames().contains(String.valueOf(k))) {
                props.put(k, v);
            }
        });
        return props;
    }

    /** {@code client.get()} with Kafka's class loader as this thread's context class loader. */
    public static <T> T create(Supplier<T> client) {
        Thread thread = Thread.currentThread();
        ClassLoader before = thread.getContextClassLoader();
        try {
            thread.setContextClassLoader(ProducerConfig.class.getClassLoader());
            return client.get();
        } finally {
            thread.setContextClassLoader(before);
        }
    }
}
