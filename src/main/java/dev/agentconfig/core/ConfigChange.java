package dev.agentconfig.core;

import java.time.Instant;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.UUID;

/**
 * One configuration change as the change feed tells it: whose, what became of it, which fields at
 * which versions. Never a value: no key (not even sealed), no agent id, so the feed can go wherever
 * other services listen.
 *
 * @param status   saved, stale, queued, quarantined (a save's answer), or synced / quarantined (an
 *                 entry of the local store the sync settled later)
 * @param origin   the door the save came through, or replay for the sync
 * @param versions each field of the change and its version (a field cleared with null is listed too)
 * @param targets  what each table made of it
 */
public record ConfigChange(UserKey user, String status, Origin origin, UUID saveId, Map<Field, Long> versions,
                           Map<Target, TargetState> targets, Instant at) {

    /** The sync wrote a parked save to every table it was pending for. */
    public static final String SYNCED = "synced";

    public ConfigChange {
        versions = Collections.unmodifiableMap(versions.isEmpty() ? new EnumMap<>(Field.class) : new EnumMap<>(versions));
        targets = Collections.unmodifiableMap(targets.isEmpty() ? new EnumMap<>(Target.class) : new EnumMap<>(targets));
    }

    /** A save's answer. */
    public static ConfigChange of(SaveOutcome outcome, SealedSave save, Instant at) {
        return new ConfigChange(save.user(), outcome.status(), save.origin(), save.saveId(), save.versions(),
                outcome.targets(), at);
    }

    /** A local entry the sync settled: synced (drained) or quarantined. */
    public static ConfigChange settled(SealedSave replayed, String status, Map<Target, TargetState> targets, Instant at) {
        return new ConfigChange(replayed.user(), status, replayed.origin(), replayed.saveId(), replayed.versions(),
                targets, at);
    }

    /** tenantId:userId, the key the saves topic and the change feed use (one user's records on one partition). */
    public String key() {
        return user.tenantId() + ":" + user.userId();
    }
}
