package dev.agentconfig.save;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.observe.CheckResult;
import dev.agentconfig.observe.Tracing;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.store.LocalStoreUnavailable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Route park-in-local-store, the save's one dead-letter step: every target of a save that the database could not
 * take is parked at once (one durable write per save, whatever number of targets failed). Where, is configuration
 * (agentconfig.parking): {@code local}, the user's local-store entry; {@code kafka}, the shared parking topic
 * ({@link SharedParking}, connected by the Kafka feature), with this instance's local store as the fallback
 * when the broker cannot acknowledge the record within agentconfig.kafka.park-timeout: the save is durable
 * there all the same (202), and the local sync drains it. A 503 instead would send the client to retry into the
 * same outage, while a durable place was at hand.
 */
public final class Parking {
    private static final Logger LOG = LoggerFactory.getLogger(Parking.class);

    private final LocalStore store;
    private final OutageLog log;
    private volatile SharedParking shared;
    private final AtomicLong parkedShared = new AtomicLong();
    private final AtomicLong fellBack = new AtomicLong();
    /** The shared place failed the last save parked there: the next success ends the outage (logged once each). */
    private final AtomicBoolean sharedOut = new AtomicBoolean();

    public Parking(LocalStore store, OutageLog log) {
        this.store = store;
        this.log = log;
    }

    /** agentconfig.parking=kafka: saves are parked there from now on (the local store is the fallback). */
    public void shareThrough(SharedParking place) {
        this.shared = place;
    }

    /** "kafka" when saves are parked on the shared place, else "local". */
    public String mode() {
        return shared == null ? "local" : "kafka";
    }

    /**
     * Health check "parking": the mode, this instance's counts (parked on the shared place, fell back to the local
     * store) and the shared place's own figures (the drain's counts, the topic's lag). UP: a save the database
     * cannot take is durable somewhere either way; while the broker does not take them the message says so.
     */
    public CheckResult health() {
        Map<String, Object> data = figures();
        SharedParking place = shared;
        if (place == null) {
            return CheckResult.up("parking", "local: saves the database cannot take wait in this instance's local "
                    + "store", data);
        }
        String detail = sharedOut.get()
                ? "kafka: the broker did not take the last parked save in time; parked saves go to this instance's "
                        + "local store until it does"
                : "kafka: saves the database cannot take wait on " + place.describe();
        return CheckResult.up("parking", detail, data);
    }

    /**
     * The mode and, parking on Kafka, this instance's counts (parked on the shared place, fell back to the local
     * store) and the shared place's own figures (the drain's counts, the topic's cached lag): for health "parking"
     * and the diagnostics page (read/Diagnostics). No I/O.
     */
    public Map<String, Object> figures() {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("mode", mode());
        SharedParking place = shared;
        if (place != null) {
            data.put("place", place.describe());
            data.put("parkedOnKafka", parkedShared.get());
            data.put("fellBackLocally", fellBack.get());
            data.putAll(place.figures());
        }
        return data;
    }

    /** Saves parked on the shared place by this instance (since it started). */
    public long parkedSharedCount() {
        return parkedShared.get();
    }

    /** Saves parked in the local store because the shared place could not take them in time (since start). */
    public long fellBackCount() {
        return fellBack.get();
    }

    /**
     * @return the result, with the parked targets quarantined when the entry is (an entry already
     *         quarantined keeps what joins it until an operator retries it)
     * @throws LocalStoreUnavailable when the entry cannot be made durable: nothing is acknowledged
     */
    public WriteResult park(WriteResult result) {
        Map<Target, Failure> failed = result.toPark();
        // the request's trace (its traceparent) stays with the entry: the sync's replay links back to it
        String traceparent = Tracing.traceparent();
        PendingEntry entry = null;
        SharedParking place = shared;
        if (place != null) {
            entry = parkShared(place, result, failed, traceparent);
        }
        if (entry == null) {
            entry = store.park(result.save(), failed, traceparent);
            log.parked(result, failed);
        }
        if (!entry.quarantined()) {
            return result;
        }
        WriteResult out = result;
        for (Map.Entry<Target, Failure> f : failed.entrySet()) {
            out = out.with(new TargetOutcome.Quarantined(f.getKey(), f.getValue()));
        }
        return out;
    }

    /** The save's own entry on the shared place; null when the place could not take it (counted, logged once). */
    private PendingEntry parkShared(SharedParking place, WriteResult result, Map<Target, Failure> failed,
                                    String traceparent) {
        PendingEntry entry = PendingEntry.merge(null, result.save(), failed, Instant.now(), traceparent);
        try {
            place.park(entry, traceparent);
        } catch (RuntimeException e) {
            fellBack.incrementAndGet();
            if (sharedOut.compareAndSet(false, true)) {
                LOG.warn("Save {} for {} parked locally: broker unreachable ({} did not acknowledge it: {}); saves "
                        + "that the database cannot take go to this instance's local store until it does (the local "
                        + "sync drains them)", result.save().saveId(), result.save().user(), place.describe(),
                        e.getClass().getSimpleName());
            }
            return null;
        }
        parkedShared.incrementAndGet();
        if (sharedOut.compareAndSet(true, false)) {
            LOG.info("Parked saves go to {} again", place.describe());
        }
        log.parked(result, failed, place.describe());
        return entry;
    }
}
