package dev.agentconfig.save;

import dev.agentconfig.core.Field;
import dev.agentconfig.core.Changes;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.store.LocalStore;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Legacy rows (route adopt-legacy-key). The seed wrote the key in plaintext into
 * user_settings.retell_config.api_key. A save that writes retellApiKey has it removed by the
 * user_settings trigger. For a save that does not carry the key, the settings function reports
 * the legacy plaintext (when no versioned key exists anywhere, V3 migration); this step then
 * seals it and saves it, at this save's version, to both tables — the trigger drops the
 * plaintext. No extra query on the save path: the report rides on the settings call's answer.
 */
public final class LegacyKeyAdoption {
    private static final Logger LOG = LoggerFactory.getLogger(LegacyKeyAdoption.class);
    public static final String ORIGINAL_PROPERTY = "agentconfig.legacy.original";

    private final FieldCipher cipher;
    private final LocalStore localStore;
    private final AuditTrail audit;

    public LegacyKeyAdoption(FieldCipher cipher, LocalStore localStore, AuditTrail audit) {
        this.cipher = cipher;
        this.localStore = localStore;
        this.audit = audit;
    }

    /** The settings call reported a legacy key, and no newer key waits in the local store. */
    public boolean found(Exchange exchange) {
        SaveContext ctx = exchange.getProperty(SaveContext.PROPERTY, SaveContext.class);
        if (ctx == null || ctx.replay() || !ctx.hasLegacyKey()) {
            return false;
        }
        if (!Field.RETELL_API_KEY.valid(ctx.legacyKeyPeek())) {
            ctx.takeLegacyKey();
            LOG.warn("User {}/{}: user_settings.retell_config.api_key holds a legacy value that is not a valid key; "
                    + "left in place for an operator", ctx.save().tenantId(), ctx.save().userId());
            return false;
        }
        try {
            // a key pending locally is newer than the legacy one: adopting would overwrite it
            boolean pendingKey = localStore.read(ctx.save().tenantId(), ctx.save().userId().toString())
                    .map(e -> e.fields().containsKey(Field.RETELL_API_KEY.json()))
                    .orElse(false);
            if (pendingKey) {
                ctx.takeLegacyKey();
                return false;
            }
        } catch (RuntimeException e) {
            ctx.takeLegacyKey();
            return false;
        }
        return true;
    }

    /** Seal the legacy key into a key-only save at this save's version; the save's own context is kept aside. */
    public void adopt(Exchange exchange) {
        SaveContext ctx = exchange.getProperty(SaveContext.PROPERTY, SaveContext.class);
        PreparedSave save = ctx.save();
        String plaintext = ctx.takeLegacyKey();
        String sealed = cipher.seal(plaintext, Field.RETELL_API_KEY.associatedData(save.tenantId(), save.userId()));
        Map<Field, String> key = new java.util.EnumMap<>(Field.class);
        key.put(Field.RETELL_API_KEY, sealed);
        PreparedSave keyOnly = new PreparedSave(save.tenantId(), save.userId(), save.saveId(), save.version(),
                Changes.of(key));
        exchange.setProperty(ORIGINAL_PROPERTY, ctx);
        exchange.setProperty(SaveContext.PROPERTY, new SaveContext(keyOnly, false));
        LOG.info("Save {} for {}/{}: the legacy plaintext key of user_settings is sealed and saved", save.saveId(),
                save.tenantId(), save.userId());
    }

    /** Back to the save's own context (its answer is about what the caller sent); audit the adoption. */
    public void restore(Exchange exchange) {
        SaveContext adoption = exchange.getProperty(SaveContext.PROPERTY, SaveContext.class);
        SaveContext original = exchange.getProperty(ORIGINAL_PROPERTY, SaveContext.class);
        exchange.setProperty(SaveContext.PROPERTY, original);
        exchange.removeProperty(ORIGINAL_PROPERTY);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("saveId", original.save().saveId().toString());
        details.put("version", original.save().version());
        Map<String, String> targets = new LinkedHashMap<>();
        adoption.states().forEach((t, s) -> targets.put(t.table(), s.id()));
        details.put("targets", targets);
        audit.record(new AuditEvent(Instant.now(), "legacy-key-sealed", original.save().tenantId(),
                original.save().userId(), true, details));
    }
}
