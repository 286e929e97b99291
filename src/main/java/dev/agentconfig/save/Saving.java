package dev.agentconfig.save;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.core.IdempotencyRecord;
import dev.agentconfig.core.SaveCommand;
import dev.agentconfig.core.SaveOutcome;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.core.TenantConflict;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.store.LocalStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of route save-agent-config (routes/save.camel.yaml) that are the save's own: sealing a
 * command into a versioned save, following what the tables answered, and the answer. Each takes the
 * route's body and returns the next one.
 */
public final class Saving {
    private static final Logger LOG = LoggerFactory.getLogger(Saving.class);

    private final FieldCipher cipher;
    private final HybridLogicalClock clock;
    private final IdempotencyKeys idempotencyKeys;
    private final LocalStore localStore;
    private final AuditTrail audit;
    private final SaveMeters meters;
    private final java.time.Duration editedAtSkew;
    private final dev.agentconfig.core.ChangeFeed changeFeed;

    public Saving(FieldCipher cipher, HybridLogicalClock clock, IdempotencyKeys idempotencyKeys, LocalStore localStore,
                  AuditTrail audit, SaveMeters meters, java.time.Duration editedAtSkew) {
        this(cipher, clock, idempotencyKeys, localStore, audit, meters, editedAtSkew, dev.agentconfig.core.ChangeFeed.NONE);
    }

    /** @param changeFeed where every answer is told (the Kafka events topic, when configured); must not throw */
    public Saving(FieldCipher cipher, HybridLogicalClock clock, IdempotencyKeys idempotencyKeys, LocalStore localStore,
                  AuditTrail audit, SaveMeters meters, java.time.Duration editedAtSkew,
                  dev.agentconfig.core.ChangeFeed changeFeed) {
        this.changeFeed = changeFeed;
        this.editedAtSkew = editedAtSkew;
        this.cipher = cipher;
        this.clock = clock;
        this.idempotencyKeys = idempotencyKeys;
        this.localStore = localStore;
        this.audit = audit;
        this.meters = meters;
    }

    /**
     * A command becomes a save: a saveId, a version for its fields (the clock's; a repeated
     * Idempotency-Key's remembered one), the key sealed. The plaintext does not outlive this method.
     *
     * @throws TenantConflict when the user's known tenant is another (LocalStore#knownTenant)
     */
    public SealedSave seal(SaveCommand command) {
        localStore.knownTenant(command.user().userId())
                .filter(t -> !t.equals(command.user().tenantId()))
                .ifPresent(t -> {
                    throw new TenantConflict(command.user(), "nothing was saved");
                });
        UUID saveId;
        long version;
        boolean fresh = true;
        IdempotencyRecord idempotency = null;
        if (command.idempotencyKey().isPresent()) {
            // a known key: the first save's saveId and version (its editedAt's, if it had one)
            IdempotencyKeys.Assigned a = idempotencyKeys.assign(command, command.idempotencyKey().get(),
                    command.editedAt().isPresent() ? () -> editedAtVersion(command.editedAt().get()) : clock::next);
            saveId = a.saveId();
            version = a.version();
            fresh = a.fresh() && command.editedAt().isEmpty();
            idempotency = a.record();
        } else if (command.editedAt().isPresent()) {
            // the sender's moment of the edit: a late delivery keeps its original order
            version = editedAtVersion(command.editedAt().get());
            saveId = UUID.randomUUID();
            fresh = false;
        } else {
            saveId = UUID.randomUUID();
            version = clock.next();
        }
        var sealed = command.changes().map((field, value) -> field.secret()
                ? cipher.seal(value, field.associatedData(command.user().tenantId(), command.user().userId()))
                : value);
        return SealedSave.of(command.user(), saveId, version, sealed, command.origin(), fresh, idempotency);
    }

    /**
     * A version from an edit's own time. Refused (400) beyond the allowed future skew: a device whose
     * clock runs ahead must not make its edits win over every later one.
     */
    long editedAtVersion(java.time.Instant editedAt) {
        java.time.Instant limit = clock.now().plus(editedAtSkew);
        if (editedAt.isAfter(limit)) {
            throw new dev.agentconfig.core.InvalidSave("editedAt " + editedAt + " is in the future (more than "
                    + editedAtSkew.toSeconds() + " s ahead of this service's clock, agentconfig.save.edited-at-skew)",
                    java.util.List.of(new dev.agentconfig.core.InvalidSave.FieldError("editedAt", "is in the future")));
        }
        if (editedAt.isBefore(java.time.Instant.parse("2000-01-01T00:00:00Z"))) {
            throw new dev.agentconfig.core.InvalidSave("editedAt " + editedAt + " is before 2000-01-01",
                    java.util.List.of(new dev.agentconfig.core.InvalidSave.FieldError("editedAt", "is too old")));
        }
        long version = HybridLogicalClock.micros(editedAt);
        clock.observe(version); // later saves of this instance come after it
        return version;
    }

    /**
     * The clock follows every version the tables said they hold (hybrid logical clock). A fresh save
     * that a table holds a newer version against, from a clock ahead of this instance's (another
     * instance, or before the wall clock stepped back), is marked overtaken: the user's newest value
     * would otherwise be dropped.
     */
    public WriteResult followClock(WriteResult result) {
        long stored = result.newestStoredVersion();
        HybridLogicalClock.Observation seen = clock.observe(stored);
        if (seen == HybridLogicalClock.Observation.TOO_FAR_AHEAD) {
            LOG.warn("A stored version of {} is {} s ahead of this instance's clock (more than the {} s allowed by "
                    + "agentconfig.save.max-clock-lead): not adopted; saves of that field answer stale until the "
                    + "clocks agree", result.save().user(), (stored - clock.wallMicros()) / 1_000_000L,
                    clock.maxLead().toSeconds());
        }
        boolean stale = result.outcomes().values().stream().anyMatch(o -> o.state() == TargetState.STALE);
        return result.save().fresh() && stale && seen == HybridLogicalClock.Observation.ADOPTED
                ? result.markOvertaken() : result;
    }

    /** The same save (saveId, sealed fields) at a version above what the table holds; once only. */
    public SealedSave reversion(WriteResult result) {
        SealedSave before = result.save();
        SealedSave again = before.reversioned(clock.next());
        // a repeat of the request (same Idempotency-Key) must carry the version that was written
        idempotencyKeys.reversioned(before.saveId(), again.version());
        LOG.info("Save {} for {}: a table holds a newer version from a clock ahead of this instance's; "
                + "written again at version {} (was {})", before.saveId(), before.user(), again.version(),
                before.version());
        return again;
    }

    /**
     * The answer of the save, audited.
     *
     * @throws TenantConflict when the user belongs to another tenant (nothing was stored)
     */
    public SaveOutcome answer(WriteResult result) {
        SaveOutcome outcome = SaveOutcome.of(result);
        if (result.outcomes().values().stream().anyMatch(o -> o.state() == TargetState.SAVED
                || o.state() == TargetState.STALE)) {
            localStore.tablesHold(result.save().user()); // the tables hold the user under this tenant
        }
        if (!result.audited()) {
            audit.record(SaveAudit.saved(result, outcome));
        }
        outcome.targets().forEach((t, s) -> meters.outcome(t.table(), s.id()));
        // field names and versions, never a value (core/ConfigChange)
        changeFeed.publish(dev.agentconfig.core.ConfigChange.of(outcome, result.save(), Instant.now()));
        return outcome;
    }

    /**
     * A save that was not taken (400, 409, 503, …) is audited too, with what is known of it: the body
     * it had reached when it failed (a command, a sealed save, a write result), else the door's identity.
     *
     * @param reached      the route's body when the save failed, or null
     * @param identity     whose save the door meant, when it knows (null: not known or not valid)
     * @return how every door answers it
     */
    public Refusal refused(Object reached, UserKey identity, Throwable error) {
        Refusal refusal = Refusal.of(error);
        UserKey user = identity;
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("status", refusal.status());
        details.put("problem", refusal.type());
        if (error instanceof TenantConflict) {
            details.put("failureClass", dev.agentconfig.core.FailureClass.TENANT_CONFLICT.id());
        }
        SealedSave save = reached instanceof SealedSave s ? s : reached instanceof WriteResult w ? w.save() : null;
        if (reached instanceof SaveCommand c) {
            user = c.user();
        }
        if (save != null) {
            user = save.user();
            details.put("saveId", save.saveId().toString());
            // the fields (names only) its receipt says were refused (receipt/Receipts)
            details.put("fields", save.fields().keySet().stream().map(Field::json).toList());
        }
        if (reached instanceof WriteResult w) {
            Map<String, String> targets = new LinkedHashMap<>();
            w.outcomes().forEach((t, o) -> targets.put(t.table(), o.state().id()));
            details.put("targets", targets);
        }
        if (refusal.status() == 500) {
            LOG.error("Save failed unexpectedly", error);
        }
        audit.record(new AuditEvent(Instant.now(), "save", user == null ? null : user.tenantId(),
                user == null ? null : user.userId(), false, details));
        meters.refused(refusal.status());
        return refusal;
    }

    /** The time a door took to answer a save, taken or not. */
    public void answered(java.time.Duration took) {
        meters.latency(took);
    }
}
