package dev.agentconfig.read;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One read while its locations answer: held in an exchange property, filled by the multicast's
 * aggregation strategy. Once {@link #close()}d (the multicast finished or timed out) a location
 * that answers late is ignored, so a slow location can never change an answer already given.
 */
public final class ReadContext {
    public static final String PROPERTY = "agentconfig.read";
    public static final String SOURCE_PROPERTY = "agentconfig.read.source";

    private final String tenantId;
    private final UUID userId;
    private final long startedNanos = System.nanoTime();
    private final Map<Source, LocationReading> readings = new EnumMap<>(Source.class);
    private boolean closed;

    public ReadContext(String tenantId, UUID userId) {
        this.tenantId = tenantId;
        this.userId = userId;
    }

    public String tenantId() {
        return tenantId;
    }

    public UUID userId() {
        return userId;
    }

    public long startedNanos() {
        return startedNanos;
    }

    public synchronized void record(LocationReading reading) {
        if (!closed) {
            readings.put(reading.source(), reading);
        }
    }

    /** Freezes the read: every location that has not answered by now timed out. */
    public synchronized List<LocationReading> close() {
        closed = true;
        List<LocationReading> out = new ArrayList<>();
        for (Source s : Source.values()) {
            out.add(readings.getOrDefault(s, LocationReading.timedOut(s)));
        }
        return out;
    }
}
