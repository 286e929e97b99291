package dev.agentconfig.rotation;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a key rotation stands (the HTTP answer, health, the command's summary).
 *
 * @param state     idle, running, finished (nothing left under another key), incomplete (values left that
 *                  could not be re-sealed: named in the log), failed (the database or the local store
 *                  failed: run it again), interrupted (the service stopped: resumed at the next start)
 * @param resealed  values re-sealed with the active key (table cells and local entries), legacy keys included
 * @param legacy    legacy plaintext keys sealed (and their plaintext removed)
 * @param changed   values a save replaced while they were being re-sealed (the save stays: nothing written)
 * @param failed    values that could not be re-sealed (undecryptable, refused by the database)
 * @param left      values still under another key, or legacy plaintext (an estimate while running)
 * @param ratePerSecond values re-sealed per second (durable: committed, or written and fsynced)
 */
public record RotationStatus(String state, String activeKeyId, Instant startedAt, Instant finishedAt, long resealed,
                             long legacy, long changed, long failed, long left, double ratePerSecond, int passes,
                             boolean resumed, String detail) {
    public static final String IDLE = "idle";
    public static final String RUNNING = "running";
    public static final String FINISHED = "finished";
    public static final String INCOMPLETE = "incomplete";
    public static final String FAILED = "failed";
    public static final String INTERRUPTED = "interrupted";

    public static RotationStatus idle(String activeKeyId) {
        return new RotationStatus(IDLE, activeKeyId, null, null, 0, 0, 0, 0, 0, 0, 0, false, null);
    }

    public boolean running() {
        return RUNNING.equals(state);
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("state", state);
        m.put("activeKeyId", activeKeyId);
        m.put("startedAt", startedAt == null ? null : startedAt.toString());
        m.put("finishedAt", finishedAt == null ? null : finishedAt.toString());
        m.put("resealed", resealed);
        m.put("legacySealed", legacy);
        m.put("changedMeanwhile", changed);
        m.put("failed", failed);
        m.put("left", left);
        m.put("ratePerSecond", Math.round(ratePerSecond * 10) / 10.0);
        m.put("passes", passes);
        m.put("resumed", resumed);
        if (detail != null) {
            m.put("detail", detail);
        }
        return m;
    }
}
