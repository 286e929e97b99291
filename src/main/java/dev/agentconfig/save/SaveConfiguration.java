package dev.agentconfig.save;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Supplier;

import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.config.Beans;
import dev.agentconfig.config.Settings;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.observe.ServiceChecks;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.transport.Backend;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.IdempotencyRecords;
import dev.agentconfig.transport.TargetWrites;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.Registry;

/** The save path's beans (routes/save.camel.yaml, local-store.camel.yaml, legacy-key.camel.yaml). */
public final class SaveConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = Beans.settings(context);
        Registry registry = context.getRegistry();
        FailureClassifier classifier = Beans.require(context, "failureClassifier", FailureClassifier.class);
        FieldCipher cipher = Beans.require(context, "fieldCipher", FieldCipher.class);
        LocalStore store = Beans.require(context, "localStore", LocalStore.class);
        AuditTrail audit = Beans.require(context, "auditTrail", AuditTrail.class);

        TargetBreakers breakers = new TargetBreakers(settings, classifier, Beans.require(context, "backend", Backend.class));
        context.addService(breakers, true, true);
        registry.bind("targetBreakers", breakers);
        // for the diagnostics (read/Diagnostics): since when the database is out of reach
        registry.bind("databaseDownSince", (Supplier<Optional<Instant>>) breakers::openSince);
        registry.bind("profileBreaker", breakers.profile());
        registry.bind("settingsBreaker", breakers.settings());

        // the wall clock under the versions; a test may bind its own ("wallClock") to step it back
        Clock wall = Beans.optional(context, "wallClock", Clock.class);
        HybridLogicalClock clock = new HybridLogicalClock(wall == null ? Clock.systemUTC() : wall,
                Settings.duration(context.getPropertiesComponent().resolveProperty("agentconfig.save.max-clock-lead")
                        .orElse("24h")));
        // after a restart the clock may be behind what this instance parked before: follow it
        clock.observe(store.newestVersionAtStart());
        registry.bind("versionClock", clock);

        SaveMeters meters = new SaveMeters(Beans.require(context, "meterRegistry", MeterRegistry.class), breakers);
        // every answer (and every entry the sync settles) is told here; the Kafka feature connects its events topic
        ChangeFeedRelay changeFeed = new ChangeFeedRelay();
        registry.bind("changeFeed", changeFeed);
        // Idempotency-Keys: memory (a cache), the local entry of a parked save, the database (migration V6)
        IdempotencyKeys idempotencyKeys = new IdempotencyKeys(cipher, store,
                Beans.optional(context, "idempotencyRecords", IdempotencyRecords.class),
                IdempotencySettings.from(context), wall == null ? Clock.systemUTC() : wall,
                () -> breakers.all().stream().allMatch(b -> b.getState() == CircuitBreaker.State.OPEN));
        registry.bind("idempotencyKeys", idempotencyKeys);
        registry.bind("saving", new Saving(cipher, clock, idempotencyKeys, store, audit, meters,
                Settings.duration(context.getPropertiesComponent().resolveProperty("agentconfig.save.edited-at-skew")
                        .orElse("30s")), changeFeed));
        // the one write path to the two tables (transport/TargetWrites), the failure policy applied once around it
        FailurePolicy writes = new FailurePolicy(Beans.require(context, "transportWrites", TargetWrites.class),
                breakers, classifier, settings.saveRetryAttempts(), Duration.ofMillis(Long.parseLong(
                        context.getPropertiesComponent().resolveProperty("agentconfig.save.retry-delay").orElse("20")
                                .trim())));
        registry.bind("targetWrites", writes);
        OutageLog outageLog = new OutageLog(store, Settings.duration(context.getPropertiesComponent()
                .resolveProperty("agentconfig.log.summary-interval").orElse("10s")));
        context.addService(outageLog, true, true);
        Parking parking = new Parking(store, outageLog);
        registry.bind("parking", parking);
        // health "parking": the mode, and on Kafka this instance's counts and the drain group's lag
        ServiceChecks.computed(context, "parking", parking::health);
        LegacyKeys legacyKeys = new LegacyKeys(cipher, store, audit, writes, parking);
        registry.bind("legacyKeys", legacyKeys);
        SaveDecisions.beans(legacyKeys).forEach(registry::bind);
    }
}
