package dev.agentconfig.read;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import dev.agentconfig.core.UserKey;

/**
 * One read while its locations answer, filled by route read-locations' aggregation. Once
 * {@link #close()}d (the multicast finished or timed out) a location that answers late is ignored, so
 * a slow location can never change an answer already given.
 */
public final class Readings {
    private final UserKey key;
    private final long startedNanos = System.nanoTime();
    private final Map<Source, LocationReading> readings = new EnumMap<>(Source.class);
    private boolean closed;

    public Readings(UserKey key) {
        this.key = key;
    }

    public UserKey key() {
        return key;
    }

    public long startedNanos() {
        return startedNanos;
    }

    public synchronized void record(LocationReading reading) {
        if (!closed) {
            readings.put(reading.source(), reading);
        }
    }

    /**
     * Freezes the read: every location asked that has not answered by now timed out. A location read by
     * another's branch (the parked topic, by the local store's) is listed when that branch answered for it.
     */
    public synchronized List<LocationReading> close() {
        closed = true;
        List<LocationReading> out = new ArrayList<>();
        for (Source s : Source.values()) {
            if (Source.ASKED.contains(s)) {
                out.add(readings.getOrDefault(s, LocationReading.timedOut(s)));
            } else if (readings.containsKey(s)) {
                out.add(readings.get(s));
            }
        }
        return out;
    }
}
