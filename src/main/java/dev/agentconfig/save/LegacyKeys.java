package dev.agentconfig.save;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.Origin;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.store.LocalStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Legacy rows ({@link #adopt}, a step of route save-agent-config). The seed wrote the key in plaintext into
 * user_settings.retell_config.api_key. A save that writes retellApiKey has it removed by the
 * user_settings trigger. For a save that does not carry the key, the settings function reports the
 * legacy plaintext (when no versioned key exists anywhere, migration V3); it is then sealed and saved,
 * at this save's version, to both tables: the trigger drops the plaintext. No extra query on the save
 * path: the report rides on the settings call's answer.
 */
public final class LegacyKeys {
    private static final Logger LOG = LoggerFactory.getLogger(LegacyKeys.class);

    private final FieldCipher cipher;
    private final LocalStore localStore;
    private final AuditTrail audit;

    private final FailurePolicy writes;
    private final Parking parking;

    public LegacyKeys(FieldCipher cipher, LocalStore localStore, AuditTrail audit, FailurePolicy writes,
                      Parking parking) {
        this.cipher = cipher;
        this.localStore = localStore;
        this.audit = audit;
        this.writes = writes;
        this.parking = parking;
    }

    /**
     * The legacy key sealed and saved to both tables at this save's version, through the save's own write path;
     * what the tables could not take is parked as a save's would be. The save's own result is left as it is.
     */
    public void adopt(WriteResult result) {
        WriteResult adoption = writes.save(seal(result));
        if (adoption.needsParking()) {
            adoption = parking.park(adoption);
        }
        adopted(adoption);
    }

    /** The settings call reported a valid legacy key, and no newer key waits in the local store. */
    public boolean found(WriteResult result) {
        String legacy = result.legacyKey();
        if (legacy == null || result.save().replay()) {
            return false;
        }
        if (!Field.RETELL_API_KEY.valid(legacy)) {
            LOG.warn("User {}: user_settings.retell_config.api_key holds a legacy value that is not a valid key; "
                    + "left in place for an operator", result.save().user());
            return false;
        }
        try {
            // a key pending locally is newer than the legacy one: adopting would overwrite it
            return localStore.read(result.save().user())
                    .map(e -> !e.fields().containsKey(Field.RETELL_API_KEY.json()))
                    .orElse(true);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The legacy key sealed, as a key-only save at this save's version (both targets). */
    public SealedSave seal(WriteResult result) {
        SealedSave save = result.save();
        String sealed = cipher.seal(result.legacyKey(), Field.RETELL_API_KEY.associatedData(save.tenantId(), save.userId()));
        LOG.info("Save {} for {}: the legacy plaintext key of user_settings is sealed and saved", save.saveId(),
                save.user());
        return save.adopting(Field.RETELL_API_KEY, sealed, Origin.LEGACY_KEY);
    }

    /** The adoption, audited: what each target made of it. */
    public void adopted(WriteResult adoption) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("saveId", adoption.save().saveId().toString());
        details.put("version", adoption.save().version());
        Map<String, String> targets = new LinkedHashMap<>();
        adoption.outcomes().forEach((t, o) -> targets.put(t.table(), o.state().id()));
        details.put("targets", targets);
        audit.record(new AuditEvent(Instant.now(), "legacy-key-sealed", adoption.save().tenantId(),
                adoption.save().userId(), true, details));
    }
}
