package dev.agentconfig.kafka;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

import org.apache.camel.component.kafka.serde.KafkaHeaderDeserializer;

/**
 * The Kafka door's record headers as message headers: as camel-kafka gives them (bytes), except a valid W3C
 * {@code traceparent}, which becomes text, so that Camel's tracer (observe/Tracing, when traces are on)
 * continues the producer's trace. Anything else under that name stays bytes (and is ignored by the tracer).
 */
public final class KafkaTraceHeaders implements KafkaHeaderDeserializer {
    public static final String TRACEPARENT = "traceparent";
    private static final Pattern VALID = Pattern.compile("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");

    @Override
    public Object deserialize(String key, byte[] value) {
        if (TRACEPARENT.equalsIgnoreCase(key) && value != null && value.length == 55) {
            String text = new String(value, StandardCharsets.US_ASCII);
            if (VALID.matcher(text).matches()) {
                return text;
            }
        }
        return value;
    }
}
