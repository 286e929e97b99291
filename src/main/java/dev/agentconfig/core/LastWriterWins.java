package dev.agentconfig.core;

import java.util.Map;

/**
 * The one rule of the product: per field, the newest version wins; an equal version is the same
 * write again and changes nothing. The database triggers implement the same rule in SQL
 * ({@code agentconfig.is_newer}); everything in Java that compares versions calls this class.
 */
public final class LastWriterWins {
    private LastWriterWins() {
    }

    /** True when a write at {@code candidate} replaces a field stored at {@code stored} (0: none stored). */
    public static boolean replaces(long candidate, long stored) {
        return candidate > stored;
    }

    /** True when a location holds a newer version than {@code version} for some field of {@code ours}. */
    public static boolean superseded(Map<Field, Long> ours, Map<Field, Long> stored) {
        for (Map.Entry<Field, Long> e : ours.entrySet()) {
            Long held = stored.get(e.getKey());
            if (held != null && replaces(held, e.getValue())) {
                return true;
            }
        }
        return false;
    }

    /** The newest version of a map of versions, 0 when empty. */
    public static long newest(Map<Field, Long> versions) {
        long max = 0;
        for (long v : versions.values()) {
            max = Math.max(max, v);
        }
        return max;
    }
}
