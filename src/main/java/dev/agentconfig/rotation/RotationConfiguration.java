package dev.agentconfig.rotation;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
                throw new IllegalStateException(missingKeyFile(generated.get().file(), census));
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

    /**
     * Why the embedded key file cannot be generated, and which key to put back: by id, a key file of the
     * secrets directory that holds it (after a rotation: the new key), never "a backup" of the file, which
     * after a rotation holds the retired key.
     */
    static String missingKeyFile(Path file, KeyCensus census) {
        Set<String> needed = census.keyIdsInUse();
        StringBuilder sb = new StringBuilder(file + " is missing, but the data holds " + census.sealedValues()
                + " sealed API key(s): " + census.describe(needed) + ". ");
        Map<String, Path> here = Secrets.keyFilesById(file.getParent());
        List<String> found = needed.stream().filter(here::containsKey).map(id -> here.get(id) + " holds key " + id)
                .toList();
        if (!found.isEmpty() && needed.size() == 1) {
            sb.append(found.get(0)).append(": make it the key file (mv ").append(here.get(needed.iterator().next()))
                    .append(' ').append(file).append(") and start again; ");
        } else {
            if (!found.isEmpty()) {
                sb.append(String.join(", ", found)).append(". ");
            }
            sb.append("Put back a file holding key ").append(String.join(" or ", needed)).append(" as ").append(file)
                    .append(" (check a file's id: base64 -d FILE | sha256sum | cut -c1-8); a copy taken before a "
                            + "rotation holds the retired key, which this data does not need. Or configure the key: "
                            + "agentconfig.encryption.keys=<keyId>:<base64>; ");
        }
        return sb.append("a new key is never generated over existing data").toString();
    }

    private static Optional<String> property(CamelContext context, String key) {
        return context.getPropertiesComponent().resolveProperty(key).map(String::trim).filter(v -> !v.isEmpty());
    }

    private static Duration duration(CamelContext context, String key, String fallback) {
        return Settings.duration(property(context, key).orElse(fallback));
    }
}
