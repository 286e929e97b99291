package dev.agentconfig.sync;

import java.time.Clock;

import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.config.Beans;
import dev.agentconfig.core.ChangeFeed;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.observe.ServiceChecks;
import dev.agentconfig.observe.Tracing;
import dev.agentconfig.save.FailurePolicy;
import dev.agentconfig.save.IdempotencyKeys;
import dev.agentconfig.save.Saving;
import dev.agentconfig.save.TargetBreakers;
import dev.agentconfig.store.DrainProgress;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.transport.Backend;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The local store -> database sync (routes/sync.camel.yaml, api-sync.camel.yaml). */
public final class SyncConfiguration implements CamelConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(SyncConfiguration.class);

    @Override
    public void configure(CamelContext context) throws Exception {
        Registry registry = context.getRegistry();
        SyncSettings settings = SyncSettings.from(context);
        LocalStore store = Beans.require(context, "localStore", LocalStore.class);
        AuditTrail audit = Beans.require(context, "auditTrail", AuditTrail.class);
        DrainProgress drain = Beans.require(context, "drainProgress", DrainProgress.class);
        SyncMetrics metrics = new SyncMetrics(Beans.require(context, "meterRegistry", MeterRegistry.class), store, drain);
        SyncTrigger trigger = new SyncTrigger(context);
        registry.bind("syncTrigger", trigger);
        SyncPass pass = new SyncPass(Beans.require(context, "backend", Backend.class), store, metrics, trigger,
                settings.batchSize(), drain);
        registry.bind("syncPass", pass);
        // the watchdog: a sync whose timer was lost, or that stalled, is restarted (health check "sync")
        SyncWatchdog watchdog = new SyncWatchdog(context, pass, store, trigger, settings.interval(),
                SyncWatchdogSettings.from(context), Beans.require(context, "meterRegistry", MeterRegistry.class),
                Clock.systemUTC());
        registry.bind("syncWatchdog", watchdog);
        context.addService(watchdog, true, true);
        ServiceChecks.computed(context, "sync", watchdog::health);
        // drain on return: the moment the breaker probe finds the database back, a pass starts
        TargetBreakers breakers = Beans.require(context, "targetBreakers", TargetBreakers.class);
        breakers.onReachable(() -> trigger.request("the database answers again"));
        // a batch of entries goes through the save's own write path (route sync-pass, its split): one group commit on
        // the jdbc transport, one request per target per entry over PostgREST
        registry.bind("replays", new Replays(store, new Backoff(settings.backoffBase(), settings.backoffMax()), metrics,
                audit, Beans.require(context, "changeFeed", ChangeFeed.class),
                Beans.require(context, "idempotencyKeys", IdempotencyKeys.class),
                Beans.require(context, "targetWrites", FailurePolicy.class))
                .tracedBy(Beans.optional(context, "tracing", Tracing.class)));
        registry.bind("passOutcomes", new PassOutcomes());
        registry.bind("requeue", new Requeue(store, audit, Beans.require(context, "saving", Saving.class),
                Beans.require(context, "fieldCipher", FieldCipher.class)));
        // owned by Camel's executor manager: shut down with the context
        registry.bind("syncReplayPool", context.getExecutorServiceManager()
                .newFixedThreadPool(this, "sync-replay", settings.parallelism()));
        if (settings.haltAfterDbWrite()) {
            LOG.warn("FAULT INJECTION is on (agentconfig.sync.fault.halt-after-db-write=true): the JVM halts after "
                    + "the first replay that writes to the database. For tests only.");
        }
    }
}
