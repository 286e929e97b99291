package dev.agentconfig.save;

import java.time.Instant;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.store.LocalStore;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Legacy rows (route adopt-legacy-key, routes/legacy-key.camel.yaml). The seed wrote the key in
 * plaintext into user_settings.retell_config.api_key. When a save writes retellApiKey, the
 * user_settings trigger already drops that plaintext; this step covers the saves that do not
 * carry the key: if user_settings holds a legacy plaintext key and no versioned key exists
 * anywhere (neither table, nor the local store), the key is sealed and added to this save, so it
 * lands encrypted in both tables and the trigger removes the plaintext.
 * Best effort: skipped while a database breaker is not closed, and on any error.
 */
public final class LegacyKeyAdoption {
    private static final Logger LOG = LoggerFactory.getLogger(LegacyKeyAdoption.class);

    private final FieldCipher cipher;
    private final LocalStore localStore;
    private final AuditTrail audit;
    private final CircuitBreaker profileBreaker;
    private final CircuitBreaker settingsBreaker;

    public LegacyKeyAdoption(FieldCipher cipher, LocalStore localStore, AuditTrail audit,
                             CircuitBreaker profileBreaker, CircuitBreaker settingsBreaker) {
        this.cipher = cipher;
        this.localStore = localStore;
        this.audit = audit;
        this.profileBreaker = profileBreaker;
        this.settingsBreaker = settingsBreaker;
    }

    /** Worth a look only for a new save without the key, with a healthy database, and no key waiting locally. */
    public boolean worthChecking(Exchange exchange) {
        SaveContext ctx = exchange.getProperty(SaveContext.PROPERTY, SaveContext.class);
        if (ctx == null || ctx.replay() || ctx.save().sealed().has(Field.RETELL_API_KEY)
                || profileBreaker.getState() != CircuitBreaker.State.CLOSED
                || settingsBreaker.getState() != CircuitBreaker.State.CLOSED) {
            return false;
        }
        try {
            // a key pending locally is newer than the legacy one: adopting would overwrite it
            return localStore.read(ctx.save().tenantId(), ctx.save().userId().toString())
                    .map(e -> !e.fields().containsKey(Field.RETELL_API_KEY.json()))
                    .orElse(true);
        } catch (RuntimeException e) {
            return false;
        }
    }

    public Map<String, Object> lookupParams(Exchange exchange) {
        PreparedSave save = exchange.getProperty(SaveContext.PROPERTY, SaveContext.class).save();
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("userId", save.userId().toString());
        p.put("tenantId", save.tenantId());
        return p;
    }

    /** The body is the user_settings row (legacy_key, versioned_key), or null: seal and add the key. */
    public void adopt(Exchange exchange) {
        Object body = exchange.getMessage().getBody();
        exchange.getMessage().setBody(null); // the row may hold the plaintext: drop it at once
        if (!(body instanceof Map<?, ?> row) || !row.containsKey("legacy_key")) {
            return;
        }
        String plaintext = (String) row.get("legacy_key");
        if (plaintext == null || Boolean.TRUE.equals(row.get("versioned_key"))) {
            return;
        }
        SaveContext ctx = exchange.getProperty(SaveContext.PROPERTY, SaveContext.class);
        PreparedSave save = ctx.save();
        if (!Field.RETELL_API_KEY.valid(plaintext)) {
            LOG.warn("User {}/{}: user_settings.retell_config.api_key holds a legacy value that is not a valid key; "
                    + "left in place for an operator", save.tenantId(), save.userId());
            return;
        }
        Map<Field, String> fields = new EnumMap<>(Field.class);
        for (Field f : save.sealed().fields()) {
            fields.put(f, save.sealed().get(f));
        }
        fields.put(Field.RETELL_API_KEY,
                cipher.seal(plaintext, Field.RETELL_API_KEY.associatedData(save.tenantId(), save.userId())));
        PreparedSave withKey = new PreparedSave(save.tenantId(), save.userId(), save.saveId(), save.version(),
                Changes.of(fields));
        exchange.setProperty(SaveContext.PROPERTY, new SaveContext(withKey, false));
        LOG.info("Save {} for {}/{}: the legacy plaintext key of user_settings is sealed into this save",
                save.saveId(), save.tenantId(), save.userId());
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("saveId", save.saveId().toString());
        details.put("version", save.version());
        audit.record(new AuditEvent(Instant.now(), "legacy-key-sealed", save.tenantId(), save.userId(), true, details));
    }

    /** The lookup failed (database away, column missing): the save goes on without it. */
    public void skipped(Exchange exchange) {
        exchange.getMessage().setBody(null);
        Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        LOG.debug("Legacy key lookup skipped: {}", error == null ? "unknown" : String.valueOf(error.getMessage()));
    }
}
