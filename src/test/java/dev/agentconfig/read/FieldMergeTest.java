package dev.agentconfig.read;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import dev.agentconfig.core.Field;
import dev.agentconfig.core.LastWriterWins;
import org.junit.jupiter.api.Test;

/** The merge rule alone: newest version, then readable over unreadable, then the tie order. */
class FieldMergeTest {

    private static FieldValue value(Field f, String v, long version, Source source) {
        return new FieldValue(f, v, version, Instant.EPOCH, source, false, null);
    }

    private static LocationReading at(Source source, FieldValue... values) {
        Map<Field, FieldValue> fields = new java.util.EnumMap<>(Field.class);
        for (FieldValue v : values) {
            fields.put(v.field(), v);
        }
        return LocationReading.found(source, fields, null, false, null);
    }

    @Test
    void theNewestVersionWinsWhereverItLives() {
        Map<Field, FieldValue> w = FieldMerge.merge(List.of(
                at(Source.USER_PROFILES, value(Field.CALL_AGENT_ID, "p", 10, Source.USER_PROFILES)),
                at(Source.USER_SETTINGS, value(Field.CALL_AGENT_ID, "s", 11, Source.USER_SETTINGS)),
                at(Source.LOCAL_STORE, value(Field.CALL_AGENT_ID, "l", 12, Source.LOCAL_STORE),
                        value(Field.SMS_AGENT_ID, "l", 1, Source.LOCAL_STORE))));
        assertThat(w.get(Field.CALL_AGENT_ID).value()).isEqualTo("l");
        assertThat(w.get(Field.SMS_AGENT_ID).source()).isEqualTo(Source.LOCAL_STORE);
        assertThat(w).doesNotContainKey(Field.RETELL_API_KEY);
    }

    @Test
    void onATieUserProfilesBeatsUserSettingsBeatsTheLocalStoreInAnyInputOrder() {
        FieldValue p = value(Field.SMS_AGENT_ID, "p", 7, Source.USER_PROFILES);
        FieldValue s = value(Field.SMS_AGENT_ID, "s", 7, Source.USER_SETTINGS);
        FieldValue l = value(Field.SMS_AGENT_ID, "l", 7, Source.LOCAL_STORE);
        assertThat(FieldMerge.merge(List.of(at(Source.LOCAL_STORE, l), at(Source.USER_SETTINGS, s),
                at(Source.USER_PROFILES, p))).get(Field.SMS_AGENT_ID)).isSameAs(p);
        assertThat(FieldMerge.merge(List.of(at(Source.LOCAL_STORE, l), at(Source.USER_SETTINGS, s)))
                .get(Field.SMS_AGENT_ID)).isSameAs(s);
    }

    @Test
    void aNewerClearBeatsAnOlderValueAndAVersionedValueBeatsAnUnversionedOne() {
        FieldValue cleared = value(Field.CALL_AGENT_ID, null, 9, Source.LOCAL_STORE);
        FieldValue older = value(Field.CALL_AGENT_ID, "x", 8, Source.USER_PROFILES);
        assertThat(FieldMerge.winner(older, cleared)).isSameAs(cleared);
        FieldValue legacy = value(Field.CALL_AGENT_ID, "legacy", 0, Source.USER_PROFILES);
        FieldValue versioned = value(Field.CALL_AGENT_ID, "new", 1, Source.LOCAL_STORE);
        assertThat(FieldMerge.winner(legacy, versioned)).isSameAs(versioned);
    }

    @Test
    void onEqualVersionsAReadableKeyBeatsOneThatDoesNotDecrypt() {
        FieldValue seedEncrypted = new FieldValue(Field.RETELL_API_KEY, "U2FsdGVk…", 0, null, Source.USER_PROFILES,
                false, "not a v1 envelope");
        FieldValue legacyPlaintext = new FieldValue(Field.RETELL_API_KEY, "plain", 0, null, Source.USER_SETTINGS,
                true, null);
        assertThat(FieldMerge.winner(seedEncrypted, legacyPlaintext)).isSameAs(legacyPlaintext);
        // but never an older readable value over a newer unreadable one: that is reported, not hidden
        FieldValue newerTampered = new FieldValue(Field.RETELL_API_KEY, "v1:…", 5, null, Source.USER_PROFILES,
                false, "does not decrypt");
        FieldValue olderGood = new FieldValue(Field.RETELL_API_KEY, "v1:…", 4, null, Source.LOCAL_STORE, false, null);
        assertThat(FieldMerge.winner(olderGood, newerTampered)).isSameAs(newerTampered);
    }

    /**
     * The merge decides which version wins by the product's one rule (core/LastWriterWins), on every pair of
     * versions: unversioned (0), equal, adjacent, far apart; a tie (neither replaces the other) goes to the tie order.
     */
    @Test
    void whichVersionWinsIsLastWriterWinsOnEveryPair() {
        long[] versions = {0, 1, 2, 1_718_000_000_000_000L, Long.MAX_VALUE};
        for (long va : versions) {
            for (long vb : versions) {
                FieldValue a = value(Field.CALL_AGENT_ID, "a", va, Source.USER_SETTINGS);
                FieldValue b = value(Field.CALL_AGENT_ID, null, vb, Source.USER_PROFILES);
                FieldValue expected = LastWriterWins.replaces(va, vb) ? a : b; // on a tie user_profiles (b) wins
                assertThat(FieldMerge.winner(a, b)).as(va + " vs " + vb).isSameAs(expected);
                assertThat(FieldMerge.winner(b, a)).as(vb + " vs " + va + ", the other way round").isSameAs(expected);
            }
        }
    }
}
