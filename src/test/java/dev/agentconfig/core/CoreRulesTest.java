package dev.agentconfig.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** The domain rules, without Camel, a database or files. */
class CoreRulesTest {
    private static final UserKey USER = UserKey.of("acme", "3f2b8c1e-5d4a-4b6f-9a0e-1c2d3e4f5a6b");
    private static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");

    private static SealedSave save(long version, Map<Field, String> values) {
        return SealedSave.of(USER, UUID.randomUUID(), version, Changes.of(values), Origin.HTTP);
    }

    private static Map<Field, String> fields(Object... kv) {
        Map<Field, String> m = new EnumMap<>(Field.class);
        for (int i = 0; i < kv.length; i += 2) {
            m.put((Field) kv[i], (String) kv[i + 1]);
        }
        return m;
    }

    @Test
    void newerVersionReplacesEqualOrOlderDoesNot() {
        assertThat(LastWriterWins.replaces(2, 1)).isTrue();
        assertThat(LastWriterWins.replaces(1, 1)).isFalse();
        assertThat(LastWriterWins.replaces(1, 2)).isFalse();
        assertThat(LastWriterWins.replaces(1, 0)).isTrue();
        assertThat(LastWriterWins.superseded(Map.of(Field.CALL_AGENT_ID, 5L), Map.of(Field.CALL_AGENT_ID, 6L))).isTrue();
        assertThat(LastWriterWins.superseded(Map.of(Field.CALL_AGENT_ID, 5L), Map.of(Field.CALL_AGENT_ID, 5L))).isFalse();
        assertThat(LastWriterWins.superseded(Map.of(Field.CALL_AGENT_ID, 5L), Map.of(Field.SMS_AGENT_ID, 9L))).isFalse();
    }

    @Test
    void identifiersAreValidatedAndTheUserIdLowerCased() {
        assertThat(UserKey.of("acme", "3F2B8C1E-5D4A-4B6F-9A0E-1C2D3E4F5A6B").userId().toString())
                .isEqualTo("3f2b8c1e-5d4a-4b6f-9a0e-1c2d3e4f5a6b");
        assertThatThrownBy(() -> UserKey.of("../etc", USER.userId().toString())).isInstanceOf(InvalidSave.class);
        assertThatThrownBy(() -> UserKey.of("acme", "not-a-uuid")).isInstanceOf(InvalidSave.class);
        assertThatThrownBy(() -> new SaveCommand(USER, Changes.of(Map.of()), java.util.Optional.empty(),
                java.util.Optional.empty(), Origin.HTTP)).isInstanceOf(InvalidSave.class);
    }

    @Test
    void bothFailedTargetsAreParkedInOneEntryAndTheNewerFieldIsKept() {
        SealedSave older = save(10, fields(Field.CALL_AGENT_ID, "a1", Field.SMS_AGENT_ID, "s1"));
        Failure down = Failures.ofSqlState("08001", "connection refused");
        PendingEntry first = PendingEntry.merge(null, older,
                Map.of(Target.USER_PROFILES, down, Target.USER_SETTINGS, down), NOW);
        assertThat(first.pendingTargets()).containsExactly("user_profiles", "user_settings");
        assertThat(first.pending()).isTrue();
        assertThat(first.revision()).isEqualTo(1);

        SealedSave stale = save(9, fields(Field.CALL_AGENT_ID, "a0"));
        SealedSave newer = save(11, fields(Field.SMS_AGENT_ID, "s2"));
        PendingEntry second = PendingEntry.merge(first, stale, Map.of(Target.USER_PROFILES, down), NOW);
        PendingEntry third = PendingEntry.merge(second, newer, Map.of(Target.USER_SETTINGS, down), NOW);
        assertThat(third.fields().get("callAgentId").value()).isEqualTo("a1");
        assertThat(third.fields().get("smsAgentId").value()).isEqualTo("s2");
        assertThat(third.revision()).isEqualTo(3);
        assertThat(third.createdAt()).isEqualTo(first.createdAt());

        SealedSave replay = third.asReplay();
        assertThat(replay.origin()).isEqualTo(Origin.REPLAY);
        assertThat(replay.entryRevision()).isEqualTo(3);
        assertThat(replay.versionOf(Field.CALL_AGENT_ID)).isEqualTo(10);
        assertThat(replay.versionOf(Field.SMS_AGENT_ID)).isEqualTo(11);
        assertThat(replay.version()).isEqualTo(11);
    }

    @Test
    void aRejectedTargetQuarantinesTheEntryAndNamesItsFailure() {
        Failure down = Failures.ofSqlState("08001", "connection refused");
        Failure check = Failures.ofSqlState("23514", "violates check constraint");
        PendingEntry e = PendingEntry.merge(null, save(1, fields(Field.CALL_AGENT_ID, "a")),
                Map.of(Target.USER_PROFILES, down, Target.USER_SETTINGS, check), NOW);
        assertThat(e.quarantined()).isTrue();
        assertThat(e.nextAttemptAt()).isNull();
        assertThat(e.lastError().code()).isEqualTo("23514");
        assertThat(e.lastError().target()).isEqualTo("user_settings");
    }

    @Test
    void theAnswerSaysStaleWhenATargetHeldANewerValue() {
        SealedSave s = save(10, fields(Field.CALL_AGENT_ID, "a"));
        WriteResult saved = WriteResult.of(s)
                .with(TargetOutcome.written(Target.USER_PROFILES, s, Map.of(Field.CALL_AGENT_ID, 10L)))
                .with(TargetOutcome.written(Target.USER_SETTINGS, s, Map.of(Field.CALL_AGENT_ID, 10L)));
        assertThat(SaveOutcome.of(saved).status()).isEqualTo("saved");
        assertThat(SaveOutcome.of(saved).httpStatus()).isEqualTo(200);

        WriteResult stale = saved.with(TargetOutcome.written(Target.USER_SETTINGS, s, Map.of(Field.CALL_AGENT_ID, 12L)));
        assertThat(SaveOutcome.of(stale).status()).isEqualTo("stale");
        assertThat(SaveOutcome.of(stale).targets().get(Target.USER_SETTINGS)).isEqualTo(TargetState.STALE);
        assertThat(stale.newestStoredVersion()).isEqualTo(12);

        WriteResult queued = saved.with(TargetOutcome.failed(Target.USER_SETTINGS, Failures.ofSqlState("57P01", "x")));
        assertThat(SaveOutcome.of(queued).status()).isEqualTo("queued");
        assertThat(SaveOutcome.of(queued).httpStatus()).isEqualTo(202);
        assertThat(queued.toPark()).containsOnlyKeys(Target.USER_SETTINGS);
    }

    @Test
    void aTenantConflictRefusesTheSaveUnlessTheProfileAlreadyTookIt() {
        SealedSave s = save(10, fields(Field.CALL_AGENT_ID, "a"));
        Failure conflict = Failures.ofSqlState(Failures.TENANT_CONFLICT_STATE, "user is registered under another tenant");
        WriteResult refused = WriteResult.of(s)
                .with(TargetOutcome.failed(Target.USER_PROFILES, conflict))
                .with(TargetOutcome.failed(Target.USER_SETTINGS, conflict)).resolved();
        assertThatThrownBy(() -> SaveOutcome.of(refused)).isInstanceOf(TenantConflict.class);
        assertThat(refused.toPark()).isEmpty();

        WriteResult race = WriteResult.of(s)
                .with(TargetOutcome.written(Target.USER_PROFILES, s, Map.of(Field.CALL_AGENT_ID, 10L)))
                .with(TargetOutcome.failed(Target.USER_SETTINGS, conflict)).resolved();
        assertThat(SaveOutcome.of(race).status()).isEqualTo("quarantined");
        assertThat(race.toPark()).containsOnlyKeys(Target.USER_SETTINGS);
    }

    @Test
    void theClockNeverGoesBackAndStaysAboveWhatItObserved() {
        AtomicLong wall = new AtomicLong(1_000_000);
        java.time.Clock clockOfWall = new java.time.Clock() {
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            public java.time.Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            public Instant instant() {
                return HybridLogicalClock.instant(wall.get());
            }
        };
        HybridLogicalClock clock = new HybridLogicalClock(clockOfWall, java.time.Duration.ofHours(1));
        long a = clock.next();
        wall.set(500_000); // the wall clock steps back
        long b = clock.next();
        assertThat(b).isGreaterThan(a);
        assertThat(clock.observe(9_000_000)).isEqualTo(HybridLogicalClock.Observation.ADOPTED);
        assertThat(clock.next()).isGreaterThan(9_000_000);
        assertThat(clock.observe(9_000_000)).isEqualTo(HybridLogicalClock.Observation.BEHIND);
        assertThat(clock.observe(9_000_000_000L + 4_000_000_000L)).isEqualTo(HybridLogicalClock.Observation.TOO_FAR_AHEAD);
        wall.set(20_000_000);
        assertThat(clock.next()).isEqualTo(20_000_000);
        assertThat(HybridLogicalClock.instant(HybridLogicalClock.micros(NOW))).isEqualTo(NOW);
    }

    @Test
    void failureCodesAreClassedInOnePlace() {
        assertThat(Failures.ofSqlState("57P01", "shutdown").failureClass()).isEqualTo(FailureClass.TRANSIENT);
        assertThat(Failures.ofSqlState("42703", "no column").failureClass()).isEqualTo(FailureClass.SCHEMA_DRIFT);
        assertThat(Failures.ofSqlState("23514", "check").failureClass()).isEqualTo(FailureClass.REJECTED);
        assertThat(Failures.ofPostgrest(400, "PGRST204", "no column").failureClass()).isEqualTo(FailureClass.SCHEMA_DRIFT);
        assertThat(Failures.ofPostgrest(503, "PGRST001", "db down").outOfReach()).isTrue();
        assertThat(Failures.breakerOpen().retryableNow()).isFalse();
        assertThat(Failures.ofSqlState("08001", "refused").retryableNow()).isTrue();
        assertThat(Failures.ofSqlState("57014", "statement timeout").retryableNow()).isFalse();
    }
}
