package dev.agentconfig.receipt;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import dev.agentconfig.core.UserKey;

/**
 * The values that lost, as the database keeps them (table field_history, migration V7: written by a trigger
 * on user_profiles in the write's own transaction). A value is as the table holds it: the key its envelope.
 */
public interface FieldHistory {

    /**
     * One value that lost.
     *
     * @param kind      "replaced" (a newer version replaced it) or "lost" (it arrived older than the value held)
     * @param version   its version
     * @param byVersion the version of the value that won
     */
    record Change(long id, String field, String kind, String value, long version, long byVersion, Instant at) {
        @Override
        public String toString() {
            return "Change[" + id + " " + field + " " + kind + " v" + version + "]";
        }
    }

    /** The user's changes newer than {@code notBefore}, newest first. */
    List<Change> of(UserKey user, Instant notBefore);

    /** One change of the user. */
    Optional<Change> find(UserKey user, long changeId);
}
