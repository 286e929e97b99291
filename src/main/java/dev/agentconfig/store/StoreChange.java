package dev.agentconfig.store;

import java.time.Instant;

import dev.agentconfig.core.PendingEntry;

/**
 * What {@link LocalStore#update} does with an entry, decided under its lock, and the caller's result.
 *
 * @param <R> what the decision tells the caller
 */
public sealed interface StoreChange<R> {
    R result();

    /** Leave the file as it is. */
    record Keep<R>(R result) implements StoreChange<R> {
    }

    /** Write this entry (durably, before update returns). */
    record Write<R>(PendingEntry entry, R result) implements StoreChange<R> {
    }

    /**
     * Remove the entry if it is still at {@code revision} (a save merged in meanwhile keeps it);
     * {@code ifChanged} is the result when it was not removed.
     */
    record Remove<R>(long revision, R result, R ifChanged) implements StoreChange<R> {
    }

    /**
     * Set the entry aside (an operator abandoned it): moved under {@code <data-dir>/local-store-abandoned/},
     * named by {@code at} ({@link LocalStore#abandonedFile}), out of the store.
     */
    record Abandon<R>(Instant at, R result) implements StoreChange<R> {
    }
}
