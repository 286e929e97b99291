package dev.agentconfig.rotation;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;

import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.config.Beans;
import dev.agentconfig.config.Settings;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.crypto.Keyring;
import dev.agentconfig.crypto.Secrets;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.SealedKeys;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.StartupListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Key usage, key rotation and the start-up key check ("keyUsage", "keyRotation"; health check "keys").
 *
 * <p>The start-up check counts what each key seals (both tables, the local store's index) and refuses
 * the start when stored values need a key the keyring does not hold, naming it; in embedded mode it also
 * decides the fate of a key generated because {@code secrets/encryption.key} was missing: written only if
 * nothing is sealed yet, a refusal otherwise (never a new key over existing data). With the jdbc transport
 * it runs here, before anything listens; with rest, once the routes run (PostgREST is reached through
 * them). A database that cannot be reached at start postpones the check: the periodic count reports a
 * missing key in the log and in health.
 */
public final class RotationConfiguration implements CamelConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(RotationConfiguration.class);

    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = Beans.settings(context);
        Keyring keyring = Beans.require(context, "keyring", Keyring.class);
        FieldCipher cipher = Beans.require(context, "fieldCipher", FieldCipher.class);
        LocalStore store = Beans.require(context, "localStore", LocalStore.class);
        FailureClassifier classifier = Beans.require(context, "failureClassifier", FailureClassifier.class);
        MeterRegistry meters = Beans.require(context, "meterRegistry", MeterRegistry.class);
        SealedKeys tables = Beans.optional(context, "sealedKeys", SealedKeys.class);

        KeyUsage usage = new KeyUsage(context, tables, store, keyring, classifier, meters,
                duration(context, "agentconfig.keys.usage-interval", "5m"));
        KeyRotation rotation = new KeyRotation(context, cipher, tables, store, usage,
                Beans.require(context, "auditTrail", AuditTrail.class), classifier, meters, settings.dataDir(),
                Integer.parseInt(property(context, "agentconfig.keys.rotation.batch-size").orElse("200")),
                duration(context, "agentconfig.keys.rotation.batch-pause", "0ms"));
        context.addService(usage, true, true);
        context.addService(rotation, true, true);
        context.getRegistry().bind("keyUsage", usage);
        context.getRegistry().bind("keyRotation", rotation);
        dev.agentconfig.observe.ServiceChecks.computed(context, "keys", new KeysHealth(keyring, usage, rotation));
        // once everything runs (Camel passes alreadyStarted=true to onCamelContextFullyStarted)
        java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();

        if (settings.restTransport()) {
            context.addStartupListener(new StartupListener() {
                @Override
                public void onCamelContextStarted(CamelContext ctx, boolean alreadyStarted) {
                    // the routes run: PostgREST can be asked
                }

                @Override
                public void onCamelContextFullyStarted(CamelContext ctx, boolean alreadyStarted) {
                    if (once.compareAndSet(false, true)) {
                        checkAtStart(keyring, usage);
                        rotation.resumeIfInterrupted();
                    }
                }
            });
        } else {
            checkAtStart(keyring, usage);
            context.addStartupListener(new StartupListener() {
                @Override
                public void onCamelContextStarted(CamelContext ctx, boolean alreadyStarted) {
                    // resumed once everything runs (below)
                }

                @Override
                public void onCamelContextFullyStarted(CamelContext ctx, boolean alreadyStarted) {
                    if (once.compareAndSet(false, true)) {
                        rotation.resumeIfInterrupted();
                    }
                }
            });
        }
    }

    /**
     * Refuses the start when stored values need a key the keyring does not hold; writes the key generated in
     * embedded mode only when nothing is sealed yet.
     */
    static KeyCensus checkAtStart(Keyring keyring, KeyUsage usage) {
        KeyCensus census = usage.refresh();
        Optional<Secrets.PendingKey> generated = keyring.pendingGenerated();
        if (generated.isPresent()) {
            if (!census.databaseCounted()) {
                throw new IllegalStateException(generated.get().file() + " is missing and the database cannot be read "
                        + "to tell whether values are sealed already (" + census.databaseError() + "): no key is "
                        + "generated. Start again once the database runs, or restore the key file from a backup");
            }
            if (census.sealedValues() > 0) {
                throw new IllegalStateException(generated.get().file() + " is missing, but the data holds "
                        + census.sealedValues() + " sealed API key(s): " + census.describe(census.keyIdsInUse())
                        + ". Restore the key file from a backup (or configure that key: agentconfig.encryption.keys="
                        + "<keyId>:<base64>); a new key is never generated over existing data");
            }
            Secrets.persist(generated.get());
            LOG.info("Keyring: {}", keyring.describe());
        }
        Set<String> missing = census.missingFrom(keyring);
        if (!missing.isEmpty()) {
            throw new IllegalStateException("stored data needs encryption key(s) that are not in the keyring: "
                    + census.describe(missing) + ". Keyring: " + keyring.describe() + ". Add the key(s) again "
                    + "(agentconfig.encryption.keys=<keyId>:<base64>, agentconfig.encryption.key-dir, or the "
                    + "original <data-dir>/secrets/encryption.key); a key can be retired only once no value uses it "
                    + "(health check keys, GET /api/v1/admin/keys)");
        }
        if (!census.databaseCounted()) {
            LOG.warn("Key check at start postponed: the tables cannot be counted ({}); the local store needs no key "
                    + "that is missing", census.databaseError());
        } else if (census.toReseal(keyring.activeKeyId()) > 0) {
            LOG.info("Keys at start: {} values are sealed with older keys and {} legacy plaintext keys remain (by key "
                    + "id: {}). Rotate with POST /api/v1/admin/keys/rotate",
                    census.toReseal(keyring.activeKeyId()) - census.legacyPlaintext(), census.legacyPlaintext(),
                    census.describe(census.keyIdsInUse()));
        } else {
            LOG.info("Keys at start: {} sealed values, all with the active key {}", census.sealedValues(),
                    keyring.activeKeyId());
        }
        return census;
    }

    private static Optional<String> property(CamelContext context, String key) {
        return context.getPropertiesComponent().resolveProperty(key).map(String::trim).filter(v -> !v.isEmpty());
    }

    private static Duration duration(CamelContext context, String key, String fallback) {
        return Settings.duration(property(context, key).orElse(fallback));
    }
}
