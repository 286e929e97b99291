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
import java.util.concurrent.atomic.AtomicInteger;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.failure.FailureClassifier;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.store.PendingEntry;
import dev.agentconfig.sync.ReplayOutcome.Result;
import dev.agentconfig.sync.Settlement.Action;
import org.junit.jupiter.api.Test;

/** The decision taken for an entry once it was replayed, case by case. */
class SettlementTest {
    private static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");
    private static final Backoff BACKOFF = new Backoff(Duration.ofSeconds(1), Duration.ofMinutes(5));
    private static final Failure DOWN = new Failure(FailureClass.TRANSIENT, "08001", "connection refused");
    private static final Failure DRIFT = new Failure(FailureClass.SCHEMA_DRIFT, "42703", "column \"x\" does not exist");
    private static final Failure REFUSED = new Failure(FailureClass.REJECTED, "23514", "violates check constraint");
    private static final Failure CONFLICT = new Failure(FailureClass.TENANT_CONFLICT, "AC409", "another tenant");
    private static final Failure BREAKER = new Failure(FailureClass.TRANSIENT, FailureClassifier.CODE_BREAKER_OPEN, "open");

    private final PendingEntry entry = entry(3, 5);

    private static PendingEntry entry(int attempts, long revision) {
        Map<String, PendingEntry.FieldEntry> fields = new TreeMap<>();
        fields.put("callAgentId", new PendingEntry.FieldEntry("c1", 10, UUID.randomUUID().toString()));
        return new PendingEntry(1, "acme", UUID.randomUUID().toString(), fields, List.of("user_profiles", "user_settings"),
                PendingEntry.PENDING, null, attempts, NOW.minusSeconds(5).toString(), NOW.minusSeconds(60).toString(),
                NOW.minusSeconds(5).toString(), revision);
    }

    private Settlement.Decision decide(Optional<PendingEntry> current, TargetState profile, Failure profileFailure,
                                       TargetState settings, Failure settingsFailure) {
        Map<Target, TargetState> states = new EnumMap<>(Target.class);
        Map<Target, Failure> failures = new EnumMap<>(Target.class);
        if (profile != null) {
            states.put(Target.USER_PROFILES, profile);
        }
        if (settings != null) {
            states.put(Target.USER_SETTINGS, settings);
        }
        if (profileFailure != null) {
            failures.put(Target.USER_PROFILES, profileFailure);
        }
        if (settingsFailure != null) {
            failures.put(Target.USER_SETTINGS, settingsFailure);
        }
        return Settlement.decide(entry, () -> current, states, failures, NOW, BACKOFF);
    }

    @Test
    void everyTargetSavedOrStaleRemovesWithoutReadingTheEntryAgain() {
        AtomicInteger reads = new AtomicInteger();
        var d = Settlement.decide(entry, () -> {
            reads.incrementAndGet();
            return Optional.of(entry);
        }, Map.of(Target.USER_PROFILES, TargetState.SAVED, Target.USER_SETTINGS, TargetState.STALE), Map.of(), NOW,
                BACKOFF);
        assertThat(d.action()).isEqualTo(Action.REMOVE);
        assertThat(d.result()).isEqualTo(Result.DRAINED);
        assertThat(reads).hasValue(0); // the revision check is LocalStore.removeIfUnchanged's
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
