package dev.agentconfig.json;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.agentconfig.core.PendingEntry;

/** One strictly configured JSON mapper for requests, answers and local-store entries. */
public final class Json {
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .serializationInclusion(JsonInclude.Include.ALWAYS)
            // an entry without Idempotency-Keys is written as before them (the core carries no annotation)
            .addMixIn(PendingEntry.class, PendingEntryJson.class)
            .build();

    static {
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(64)
                .maxNumberLength(100)
                .maxStringLength(64 * 1024)
                .build());
    }

    private Json() {
    }

    /** How a local-store entry is written: its Idempotency-Keys, traceparents and failure history only when it has some. */
    private abstract static class PendingEntryJson {
        @JsonInclude(JsonInclude.Include.NON_EMPTY)
        abstract Map<String, PendingEntry.KeyEntry> idempotencyKeys();

        @JsonInclude(JsonInclude.Include.NON_EMPTY)
        abstract List<String> traceparents();

        @JsonInclude(JsonInclude.Include.NON_EMPTY)
        abstract List<PendingEntry.ErrorInfo> failures();
    }

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static byte[] writeBytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What writes an object's fields into a generator. */
    @FunctionalInterface
    public interface Fields {
        void write(JsonGenerator generator) throws IOException;
    }

    /**
     * A small JSON object written field by field, straight into its text (compact, the fields in the order
     * written): no tree of nodes in between, for what the save path writes per save.
     */
    public static String object(Fields fields) {
        StringWriter out = new StringWriter(64);
        try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
            g.writeStartObject();
            fields.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    public static JsonNode tree(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
