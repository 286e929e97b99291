package dev.agentconfig;

import java.util.List;

import dev.agentconfig.api.ApiConfiguration;
import dev.agentconfig.audit.AuditConfiguration;
import dev.agentconfig.client.ClientConfiguration;
import dev.agentconfig.config.Beans;
import dev.agentconfig.config.DataDirLock;
import dev.agentconfig.config.Settings;
import dev.agentconfig.crypto.CryptoConfiguration;
import dev.agentconfig.db.DatabaseConfiguration;
import dev.agentconfig.inbox.InboxConfiguration;
import dev.agentconfig.kafka.KafkaConfiguration;
import dev.agentconfig.observe.ObserveConfiguration;
import dev.agentconfig.observe.Tracing;
import dev.agentconfig.postgrest.PostgrestConfiguration;
import dev.agentconfig.read.ReadConfiguration;
import dev.agentconfig.receipt.ReceiptConfiguration;
import dev.agentconfig.rotation.RotationConfiguration;
import dev.agentconfig.save.SaveConfiguration;
import dev.agentconfig.store.StoreConfiguration;
import dev.agentconfig.sync.SyncConfiguration;
import dev.agentconfig.transport.TransportConfiguration;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's wiring: the settings, the data dir's lock and the meter registry, then each feature's
 * own configuration in the order their beans depend on each other. The same wiring runs in production
 * (Application) and in tests (CamelMainTestSupport).
 */
public class AppConfiguration implements CamelConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(AppConfiguration.class);

    /** Each feature binds its beans; a later one looks up what an earlier one bound. */
    static final List<CamelConfiguration> FEATURES = List.of(
            new Tracing(),                  // traces (off unless agentconfig.tracing.otlp-endpoint): before any route
            new CryptoConfiguration(),      // the key's cipher, the service token
            new TransportConfiguration(),   // failure classification, the dead-letter channel's retry rule
            new DatabaseConfiguration(),    // the direct database; the jdbc transport
            new PostgrestConfiguration(),   // the rest transport
            new StoreConfiguration(),       // the local store
            new AuditConfiguration(),       // the audit trail
            new RotationConfiguration(),    // key usage, key rotation, the start-up key check
            new SaveConfiguration(),        // the save path
            new ReadConfiguration(),        // the read path and diagnostics
            new SyncConfiguration(),        // the local store -> database sync
            new ReceiptConfiguration(),     // a save's receipt, derived from its audit rows and the tables
            new InboxConfiguration(),       // the file inbox
            new KafkaConfiguration(),       // the Kafka door, its dead-letter topic, the change feed (off by default)
            new ObserveConfiguration(),     // health and metrics
            new ApiConfiguration(),         // the HTTP front door
            new ClientConfiguration());     // the browser client's module, CORS for front ends

    /** The features this wiring configures: all of them for the service. */
    protected List<CamelConfiguration> features() {
        return FEATURES;
    }

    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = Settings.from(context);
        // one service per data dir, before the secrets, the embedded database or the local store are
        // touched; added first, so stopped (released) last
        DataDirLock dataDirLock = DataDirLock.acquire(settings.dataDir());
        context.addService(dataDirLock, true, true);
        try {
            context.getRegistry().bind("settings", settings);
            // one meter registry for the whole service, exported in Prometheus text format: the one
            // camel-micrometer made for Camel's route meters (camel.metrics.enabled), else a new one
            // (which camel-micrometer then finds as the only one)
            PrometheusMeterRegistry meters = Beans.optional(context, "metricsRegistry", PrometheusMeterRegistry.class);
            context.getRegistry().bind("meterRegistry", meters != null ? meters
                    : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
            for (CamelConfiguration feature : features()) {
                feature.configure(context);
            }
        } catch (Exception | Error e) {
            dataDirLock.stop(); // a start that failed leaves the data dir to the next attempt
            throw e;
        }
        LOG.info("agent-config-sync configured: data dir {}, {} database, transport {}", settings.dataDir(),
                settings.embeddedDatabase() ? "embedded" : settings.directDatabase() ? "external" : "no direct",
                settings.transport());
    }
}
