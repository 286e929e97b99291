package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.core.Failures;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.store.StoreChange;
import dev.agentconfig.sync.ReplayOutcome.Result;
import org.junit.jupiter.api.Test;

/** The decision taken for an entry once it was replayed, case by case. */
class SettlementTest {
    private static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");
    private static final Backoff BACKOFF = new Backoff(Duration.ofSeconds(1), Duration.ofMinutes(5));
    private static final Failure DOWN = new Failure(FailureClass.TRANSIENT, "08001", "connection refused");
    private static final Failure DRIFT = new Failure(FailureClass.SCHEMA_DRIFT, "42703", "column \"x\" does not exist");
    private static final Failure REFUSED = new Failure(FailureClass.REJECTED, "23514", "violates check constraint");
    private static final Failure CONFLICT = new Failure(FailureClass.TENANT_CONFLICT, "AC409", "another tenant");
    private static final Failure BREAKER = Failures.breakerOpen();

    private final PendingEntry entry = entry(3, 5);

    private static PendingEntry entry(int attempts, long revision) {
        Map<String, PendingEntry.FieldEntry> fields = new TreeMap<>();
        fields.put("callAgentId", new PendingEntry.FieldEntry("c1", 10, UUID.randomUUID().toString()));
        return new PendingEntry(1, "acme", UUID.randomUUID().toString(), fields, List.of("user_profiles", "user_settings"),
                PendingEntry.PENDING, null, attempts, NOW.minusSeconds(5).toString(), NOW.minusSeconds(60).toString(),
                NOW.minusSeconds(5).toString(), revision);
    }

    /** What the decision does to the file: REMOVE, WRITE or NONE, and the entry written. */
    enum Action { NONE, WRITE, REMOVE }

    record Decision(Action action, PendingEntry entry, Result result) {
        static Decision of(StoreChange<Result> c) {
            if (c instanceof StoreChange.Write<Result> w) {
                return new Decision(Action.WRITE, w.entry(), w.result());
            }
            if (c instanceof StoreChange.Remove<Result> r) {
                return new Decision(Action.REMOVE, null, r.result());
            }
            return new Decision(Action.NONE, null, c.result());
        }
    }

    private static TargetOutcome outcome(Target target, TargetState state, Failure failure) {
        return switch (state) {
            case SAVED -> new TargetOutcome.Saved(target, Map.of(), null);
            case STALE -> new TargetOutcome.Stale(target, Map.of(Field.CALL_AGENT_ID, 99L), null);
            default -> TargetOutcome.failed(target, failure);
        };
    }

    private Decision decide(Optional<PendingEntry> current, TargetState profile, Failure profileFailure,
                            TargetState settings, Failure settingsFailure) {
        Map<Target, TargetOutcome> outcomes = new EnumMap<>(Target.class);
        if (profile != null) {
            outcomes.put(Target.USER_PROFILES, outcome(Target.USER_PROFILES, profile, profileFailure));
        }
        if (settings != null) {
            outcomes.put(Target.USER_SETTINGS, outcome(Target.USER_SETTINGS, settings, settingsFailure));
        }
        SealedSave replayed = entry.asReplay();
        return Decision.of(Settlement.decide(replayed, outcomes, current, NOW, BACKOFF));
    }

    @Test
    void everyTargetSavedOrStaleRemovesTheEntryAtTheRevisionReplayed() {
        var c = Settlement.decide(entry.asReplay(), Map.of(
                        Target.USER_PROFILES, outcome(Target.USER_PROFILES, TargetState.SAVED, null),
                        Target.USER_SETTINGS, outcome(Target.USER_SETTINGS, TargetState.STALE, null)),
                Optional.of(entry), NOW, BACKOFF);
        assertThat(c).isInstanceOf(StoreChange.Remove.class);
        StoreChange.Remove<Result> remove = (StoreChange.Remove<Result>) c;
        assertThat(remove.revision()).isEqualTo(5);
        assertThat(remove.result()).isEqualTo(Result.DRAINED);
        // a save merged in meanwhile bumped the revision: LocalStore.update keeps the entry
        assertThat(remove.ifChanged()).isEqualTo(Result.CHANGED);
    }

    @Test
    void partialSuccessKeepsOnlyThePendingTargetWithBackoff() {
        var d = decide(Optional.of(entry), TargetState.SAVED, null, TargetState.QUEUED, DRIFT);
        assertThat(d.action()).isEqualTo(Action.WRITE);
        assertThat(d.result()).isEqualTo(Result.PARTIAL);
        assertThat(d.entry().pendingTargets()).containsExactly("user_settings");
        assertThat(d.entry().state()).isEqualTo(PendingEntry.PENDING);
        assertThat(d.entry().attempts()).isEqualTo(4);
        // attempt 4: base 1 s doubled three times = 8 s, with jitter between 4 s and 8 s
        assertThat(d.entry().nextAttempt()).isBetween(NOW.plusSeconds(4), NOW.plusSeconds(8));
        assertThat(d.entry().lastError().code()).isEqualTo("42703");
        assertThat(d.entry().lastError().target()).isEqualTo("user_settings");
        assertThat(d.entry().revision()).isEqualTo(6);
        assertThat(d.entry().fields()).isEqualTo(entry.fields());
    }

    @Test
    void aTransientFailureOfBothIsRetryingWithAttemptsPlusOne() {
        var d = decide(Optional.of(entry), TargetState.QUEUED, DOWN, TargetState.QUEUED, DOWN);
        assertThat(d.result()).isEqualTo(Result.RETRYING);
        assertThat(d.entry().pendingTargets()).containsExactly("user_profiles", "user_settings");
        assertThat(d.entry().attempts()).isEqualTo(4);
        assertThat(d.entry().lastError().failureClass()).isEqualTo("transient");
    }

    @Test
    void refusedDataQuarantinesWithNoNextAttempt() {
        var d = decide(Optional.of(entry), TargetState.QUARANTINED, REFUSED, TargetState.SAVED, null);
        assertThat(d.result()).isEqualTo(Result.QUARANTINED);
        assertThat(d.entry().state()).isEqualTo(PendingEntry.QUARANTINED);
        assertThat(d.entry().pendingTargets()).containsExactly("user_profiles");
        assertThat(d.entry().nextAttemptAt()).isNull();
        assertThat(d.entry().lastError().code()).isEqualTo("23514");
    }

    @Test
    void aRefusalOutweighsATransientFailureOfTheOtherTarget() {
        var d = decide(Optional.of(entry), TargetState.QUEUED, DOWN, TargetState.QUARANTINED, REFUSED);
        assertThat(d.result()).isEqualTo(Result.QUARANTINED);
        assertThat(d.entry().pendingTargets()).containsExactly("user_profiles", "user_settings");
        assertThat(d.entry().lastError().target()).isEqualTo("user_settings");
    }

    @Test
    void aTenantConflictQuarantinesEvenWhenTheOtherTargetWasNotTried() {
        var d = decide(Optional.of(entry), TargetState.SKIPPED, CONFLICT, null, null);
        assertThat(d.result()).isEqualTo(Result.QUARANTINED);
        assertThat(d.entry().lastError().code()).isEqualTo("AC409");
        assertThat(d.entry().pendingTargets()).containsExactly("user_profiles", "user_settings");
    }

    @Test
    void aSaveMergedMeanwhileLeavesTheEntryAsItNowIs() {
        var d = decide(Optional.of(entry(3, 6)), TargetState.SAVED, null, TargetState.QUEUED, DOWN);
        assertThat(d.action()).isEqualTo(Action.NONE);
        assertThat(d.result()).isEqualTo(Result.CHANGED);
    }

    @Test
    void anOpenBreakerIsNotChargedAsAnAttempt() {
        var untouched = decide(Optional.of(entry), TargetState.QUEUED, BREAKER, TargetState.QUEUED, BREAKER);
        assertThat(untouched.action()).isEqualTo(Action.NONE);
        assertThat(untouched.result()).isEqualTo(Result.DEFERRED);

        var progress = decide(Optional.of(entry), TargetState.SAVED, null, TargetState.QUEUED, BREAKER);
        assertThat(progress.result()).isEqualTo(Result.PARTIAL);
        assertThat(progress.entry().attempts()).isEqualTo(3);
        assertThat(progress.entry().nextAttemptAt()).isEqualTo(entry.nextAttemptAt());
        assertThat(progress.entry().pendingTargets()).containsExactly("user_settings");
    }

    @Test
    void anEntryRemovedMeanwhileIsGone() {
        var d = decide(Optional.empty(), TargetState.QUEUED, DOWN, TargetState.QUEUED, DOWN);
        assertThat(d.action()).isEqualTo(Action.NONE);
        assertThat(d.result()).isEqualTo(Result.GONE);
    }
}
