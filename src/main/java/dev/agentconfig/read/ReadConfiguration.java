package dev.agentconfig.read;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

import dev.agentconfig.config.Beans;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.save.FailurePolicy;
import dev.agentconfig.save.Parking;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.TargetReads;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.Registry;

/** The read path's beans (routes/read.camel.yaml; the diagnostic report, routes/api-diagnostics.camel.yaml). */
public final class ReadConfiguration implements CamelConfiguration {
    @Override
    @SuppressWarnings("unchecked")
    public void configure(CamelContext context) {
        Registry registry = context.getRegistry();
        FailureClassifier classifier = Beans.require(context, "failureClassifier", FailureClassifier.class);
        FieldCipher cipher = Beans.require(context, "fieldCipher", FieldCipher.class);
        KeyReader keys = new KeyReader(cipher);
        registry.bind("keyReader", keys);
        ReadSettings settings = ReadSettings.from(context);
        LastKnownCopies lastKnown = new LastKnownCopies(Beans.settings(context).dataDir().resolve("last-known"), cipher,
                keys, settings.lastKnownMaxUsers());
        registry.bind("lastKnownCopies", lastKnown);
        // what a table took is what it holds now: the last-known copy follows every write through the one write
        // path (saves, reversions, legacy keys, the drain), for reads while the tables are out of reach
        Beans.require(context, "targetWrites", FailurePolicy.class).onWritten(lastKnown::written);
        registry.bind("readSteps", new ReadSteps(Beans.require(context, "targetReads", TargetReads.class), keys, classifier, Beans.require(context, "localStore", LocalStore.class),
                lastKnown, Beans.require(context, "meterRegistry", MeterRegistry.class)));
        registry.bind("collectReadings", new CollectReadings(classifier));
        // the rest transport names what PostgREST's schema cache is missing; jdbc checks the schema itself
        Supplier<List<String>> drift = Beans.optional(context, "schemaDriftReport", Supplier.class);
        Supplier<Optional<Instant>> downSince = Beans.optional(context, "databaseDownSince", Supplier.class);
        LocalStore store = Beans.require(context, "localStore", LocalStore.class);
        registry.bind("diagnostics", new Diagnostics(keys, drift, downSince == null ? Optional::empty : downSince,
                store::pendingCount, Beans.require(context, "parking", Parking.class)::figures));
    }
}
