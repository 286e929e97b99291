package dev.agentconfig.kafka;

import java.io.IOException;

import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.json.Json;

/**
 * The records of the parking topic (agentconfig.kafka.parked-topic), the one codec every writer and reader uses
 * (the park, the drain, the read merge): one record per parked save, key {@code tenantId:userId} (UTF-8: one user's
 * parked saves stay in order on one partition), value the JSON of a {@link PendingEntry} holding only that save's
 * failed targets' fields, the same shape as a local-store file ({@link Json}): the API key is its sealed envelope,
 * never plaintext. The W3C traceparent of the parking request travels in the header {@value #TRACEPARENT}.
 */
public final class ParkedRecords {
    /** The record header of the parking request's W3C traceparent (absent when it was not traced). */
    public static final String TRACEPARENT = KafkaTraceHeaders.TRACEPARENT;

    private ParkedRecords() {
    }

    /** The record's key: {@code tenantId:userId}. */
    public static String key(PendingEntry entry) {
        return entry.tenantId() + ":" + entry.userId();
    }

    /** The record's value. */
    public static byte[] encode(PendingEntry entry) {
        return Json.writeBytes(entry);
    }

    /**
     * A record's value as the entry it holds.
     *
     * @throws IllegalArgumentException when it is not one (not JSON, another shape, no user, no field)
     */
    public static PendingEntry decode(byte[] value) {
        if (value == null || value.length == 0) {
            throw new IllegalArgumentException("empty record");
        }
        PendingEntry entry;
        try {
            entry = Json.MAPPER.readValue(value, PendingEntry.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a parked entry: " + e.getClass().getSimpleName());
        }
        if (entry == null || entry.tenantId() == null || entry.userId() == null || entry.fields() == null
                || entry.fields().isEmpty() || entry.pendingTargets() == null || entry.pendingTargets().isEmpty()) {
            throw new IllegalArgumentException("not a parked entry: no user, field or target");
        }
        try {
            entry.key();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a parked entry: invalid tenant or user");
        }
        return entry;
    }
}
