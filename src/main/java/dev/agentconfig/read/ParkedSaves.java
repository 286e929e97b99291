package dev.agentconfig.read;

import java.util.Optional;

import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.UserKey;

/**
 * The saves of a user that wait somewhere every instance can see (with {@code agentconfig.parking=kafka}: the
 * parked topic, {@code kafka/ParkedView}), asked by the local store's branch of a read next to this instance's
 * own local store. Connected by the Kafka wiring ({@link ReadSteps#connect(ParkedSaves)}); without it a read
 * asks the local store only.
 */
public interface ParkedSaves {

    /**
     * What waits for the user, merged per field (the newest version of each, {@code core/LastWriterWins}), as a
     * pending entry in the local store's shape (key sealed); empty when nothing waits. The answer covers every
     * save acknowledged before this call.
     *
     * @throws Behind when the view could not confirm that within its bound (the broker out of reach, a view
     *                still catching up): the read reports the location as timed out, its answer incomplete
     */
    Optional<PendingEntry> pending(UserKey key) throws Behind;

    /** The view could not show every save acknowledged before the read in time. */
    final class Behind extends Exception {
        public Behind(String message) {
            super(message, null, false, false);
        }
    }
}
