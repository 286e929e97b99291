package dev.agentconfig.read;

import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Map;

import dev.agentconfig.core.Field;
import dev.agentconfig.core.LastWriterWins;

/**
 * How the three locations become one answer: the one place that decides which value of a field
 * wins. Per field, independently of the others:
 * <ol>
 *   <li>the newest version wins, by the product's one rule {@link LastWriterWins#replaces} (a value written
 *       without a version, as the seed did, counts as version 0 and so loses to any versioned one);</li>
 *   <li>on equal versions, a value this service can read beats one it cannot (only the key can be
 *       unreadable: the seed's browser-encrypted {@code encrypted_retell_api_key} must not hide the
 *       legacy key that user_settings holds at the same, absent, version);</li>
 *   <li>then the tie order: user_profiles beats user_settings beats the local store.</li>
 * </ol>
 * A cleared field (value null) is a value like any other: a newer clear hides an older value.
 */
public final class FieldMerge {
    /** Between values at equal versions (neither replaces the other): the winner is the first in this order. */
    static final Comparator<FieldValue> TIE = Comparator
            .comparing(FieldValue::readable, Comparator.reverseOrder())
            .thenComparing(v -> v.source().ordinal());

    private FieldMerge() {
    }

    /** The winning value of every field some location holds. Locations that failed hold nothing. */
    public static Map<Field, FieldValue> merge(Collection<LocationReading> readings) {
        Map<Field, FieldValue> winners = new EnumMap<>(Field.class);
        for (LocationReading reading : readings) {
            for (FieldValue candidate : reading.fields().values()) {
                winners.merge(candidate.field(), candidate, FieldMerge::winner);
            }
        }
        return winners;
    }

    static FieldValue winner(FieldValue a, FieldValue b) {
        if (LastWriterWins.replaces(a.version(), b.version())) {
            return a;
        }
        if (LastWriterWins.replaces(b.version(), a.version())) {
            return b;
        }
        return TIE.compare(a, b) <= 0 ? a : b;
    }
}
