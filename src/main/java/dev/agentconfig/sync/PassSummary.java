package dev.agentconfig.sync;

import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.agentconfig.sync.ReplayOutcome.Result;

/**
 * What one sync pass did: the answer of POST /api/v1/sync and the pass's log line.
 *
 * @param skipped      null when the pass ran; otherwise why not (schema-not-migrated, database-unreachable)
 * @param due          entries that were due when the pass began
 * @param results      replayed entries by result
 * @param stillPending pending entries in the local store after the pass
 * @param quarantinedInStore quarantined entries in the local store after the pass
 */
public record PassSummary(Instant startedAt, Duration took, String skipped, int due, Map<Result, Integer> results,
                          long stillPending, long quarantinedInStore, Map<String, Integer> failures) {

    public static PassSummary of(Instant startedAt, Duration took, String skipped, int due, List<ReplayOutcome> outcomes,
                                 long stillPending, long quarantinedInStore) {
        Map<Result, Integer> results = new EnumMap<>(Result.class);
        for (ReplayOutcome o : outcomes) {
            results.merge(o.result(), 1, Integer::sum);
        }
        Map<String, Integer> failures = new java.util.TreeMap<>();
        for (ReplayOutcome o : outcomes) {
            if (o.failure() != null) {
                failures.merge(o.failure().failureClass().id() + " " + o.failure().code(), 1, Integer::sum);
            }
        }
        return new PassSummary(startedAt, took, skipped, due, results, stillPending, quarantinedInStore, failures);
    }

    public int count(Result r) {
        return results.getOrDefault(r, 0);
    }

    /** Entries actually sent to the database in this pass. */
    public int replayed() {
        return due - count(Result.DEFERRED) - count(Result.GONE);
    }

    @com.fasterxml.jackson.annotation.JsonValue
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", skipped == null ? "completed" : "skipped");
        if (skipped != null) {
            m.put("reason", skipped);
        }
        m.put("startedAt", startedAt.toString());
        m.put("durationMs", took.toMillis());
        m.put("due", due);
        m.put("replayed", replayed());
        m.put("drained", count(Result.DRAINED));
        m.put("partial", count(Result.PARTIAL));
        m.put("retrying", count(Result.RETRYING));
        m.put("quarantined", count(Result.QUARANTINED));
        m.put("changedDuringReplay", count(Result.CHANGED));
        m.put("deferred", count(Result.DEFERRED));
        m.put("failed", count(Result.FAILED));
        m.put("stillPending", stillPending);
        m.put("quarantinedInStore", quarantinedInStore);
        return m;
    }

    @Override
    public String toString() {
        if (skipped != null) {
            return "skipped (" + skipped + "), " + stillPending + " pending";
        }
        double seconds = Math.max(took.toNanos(), 1) / 1e9;
        return String.format(java.util.Locale.ROOT,
                "started %s, %d due, %d replayed: %d drained, %d partial, %d retrying, %d quarantined, %d changed during replay, "
                        + "%d deferred, %d failed; %d pending and %d quarantined left; %d ms (%.0f entries/s)",
                startedAt, due, replayed(), count(Result.DRAINED), count(Result.PARTIAL), count(Result.RETRYING),
                count(Result.QUARANTINED), count(Result.CHANGED), count(Result.DEFERRED), count(Result.FAILED),
                stillPending, quarantinedInStore, took.toMillis(), replayed() / seconds)
                + (failures.isEmpty() ? "" : "; failures " + failures);
    }
}
