package dev.agentconfig;
import java.util.List;
import java.util.function.Supplier;

import dev.agentconfig.api.HttpErrorPages;
import dev.agentconfig.api.HttpGuard;
import dev.agentconfig.api.ShutdownGate;
import dev.agentconfig.api.UserTokens;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.config.DataDirLock;
import dev.agentconfig.config.Settings;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.crypto.Secrets;
import dev.agentconfig.audit.AuditSink;
import dev.agentconfig.audit.JdbcAuditSink;
import dev.agentconfig.db.Backend;
import dev.agentconfig.db.Database;
import dev.agentconfig.db.JdbcBackend;
import dev.agentconfig.failure.FailureClassifier;
import dev.agentconfig.failure.RetryTransient;
import dev.agentconfig.inbox.InboxSteps;
import dev.agentconfig.observe.Health;
import dev.agentconfig.observe.Metrics;
import dev.agentconfig.postgrest.PostgrestAuditSink;
import dev.agentconfig.postgrest.PostgrestAuth;
import dev.agentconfig.postgrest.PostgrestBackend;
import dev.agentconfig.postgrest.PostgrestClient;
import dev.agentconfig.postgrest.PostgrestHeaders;
import dev.agentconfig.postgrest.PostgrestPayloads;
import dev.agentconfig.postgrest.PostgrestSettings;
import dev.agentconfig.postgrest.PostgrestSteps;
import dev.agentconfig.postgrest.SchemaCacheReload;
import dev.agentconfig.postgrest.SchemaDriftRegister;
import dev.agentconfig.read.CollectReadings;
import dev.agentconfig.read.Diagnostics;
import dev.agentconfig.read.DiagnosticsPage;
import dev.agentconfig.read.KeyReader;
import dev.agentconfig.read.ReadSteps;
import dev.agentconfig.read.Reveal;
import dev.agentconfig.save.IdempotencyKeys;
import dev.agentconfig.save.KeepFailures;
import dev.agentconfig.save.LegacyKeyAdoption;
import dev.agentconfig.save.SaveSteps;
import dev.agentconfig.save.TargetBreakers;
import dev.agentconfig.save.VersionClock;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.sync.Backoff;
import dev.agentconfig.sync.RequeueSteps;
import dev.agentconfig.sync.SyncMetrics;
import dev.agentconfig.sync.SyncPass;
import dev.agentconfig.sync.SyncSettings;
import dev.agentconfig.sync.SyncSteps;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.component.http.HttpComponent;
import org.apache.camel.spi.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every bean the routes use, declared in one place and bound by the name the YAML refers to.
 * The same wiring runs in production (Application) and in tests (CamelMainTestSupport).
 */
public class AppConfiguration implements CamelConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(AppConfiguration.class);

    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = Settings.from(context);
        // one service per data dir, before the secrets, the embedded database or the local store are
        // touched; added first, so stopped (released) last
        DataDirLock dataDirLock = DataDirLock.acquire(settings.dataDir());
        context.addService(dataDirLock, true, true);
        try {
            configure(context, settings);
        } catch (Exception | Error e) {
            dataDirLock.stop(); // a start that failed leaves the data dir to the next attempt
            throw e;
        }
    }

    private void configure(CamelContext context, Settings settings) throws Exception {
        Registry registry = context.getRegistry();
        registry.bind("settings", settings);
        // one meter registry for the whole service, exported in Prometheus text format
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.bind("meterRegistry", meters);

        FieldCipher cipher = new FieldCipher(Secrets.encryptionKey(settings));
        Secrets.Generated serviceToken = Secrets.serviceToken(settings);

        FailureClassifier classifier = new FailureClassifier();
        registry.bind("failureClassifier", classifier);
        registry.bind("retryTransient", new RetryTransient(classifier, settings.saveRetryAttempts()));

        // ----- transport: how the routes reach the database (issue 6) -------------------------------
        // jdbc: camel-sql on the pool (routes/transport-jdbc.camel.yaml); rest: camel-http to Supabase's
        // PostgREST (routes/transport-rest.camel.yaml). Each route file is loaded only for its transport
        // (route precondition on agentconfig.transport). The direct database exists with jdbc always, with
        // rest only when agentconfig.db.url is set (migrations and NOTIFY pgrst; never data).
        Database database = settings.directDatabase() ? new Database(settings) : null;
        if (database != null) {
            // the pool and embedded server stop with the context, after the routes
            context.addService(database, true, true);
            registry.bind("database", database);
            registry.bind("dataSource", database.dataSource());
            registry.bind("sqlStatements", new dev.agentconfig.db.CachedSqlStatements());
            database.ensureMigrated();
        }
        Backend backend;
        AuditSink auditSink;
        Supplier<List<String>> schemaDrift = null;
        if (settings.restTransport()) {
            PostgrestSettings rest = PostgrestSettings.from(settings, context);
            PostgrestAuth auth = new PostgrestAuth(PostgrestSettings.key(settings));
            configureHttpClients(context, rest);
            registry.bind("postgrestAuth", auth);
            registry.bind("postgrestHeaders", new PostgrestHeaders());
            SchemaDriftRegister drift = new SchemaDriftRegister();
            registry.bind("schemaDrift", drift);
            SchemaCacheReload schemaCache = new SchemaCacheReload(database == null ? null : database.dataSource(), meters);
            registry.bind("schemaCache", schemaCache);
            registry.bind("postgrest", new PostgrestSteps(classifier, auth, drift, schemaCache, meters));
            registry.bind("postgrestPayloads", new PostgrestPayloads());
            PostgrestClient client = new PostgrestClient(context, classifier);
            backend = new PostgrestBackend(rest.url(), client, drift, database);
            auditSink = new PostgrestAuditSink(client);
            schemaDrift = () -> drift.current().stream().map(SchemaDriftRegister::describe).toList();
            if (database == null) {
                LOG.info("Transport rest: {}/rest/v1, no direct database (no schema-cache reloads, migrations are run "
                        + "in the Supabase SQL editor)", rest.url());
            } else {
                LOG.info("Transport rest: {}/rest/v1, direct database for migrations and NOTIFY pgrst", rest.url());
            }
        } else {
            JdbcBackend jdbc = new JdbcBackend(database);
            backend = jdbc;
            auditSink = new JdbcAuditSink(database.dataSource());
            if (database.migrated()) {
                jdbc.logSchemaAtStart();
            }
        }
        registry.bind("backend", backend);
        // ----- end of the transport block ------------------------------------------------------------

        TargetBreakers breakers = new TargetBreakers(settings, classifier, backend);
        context.addService(breakers, true, true);
        registry.bind("targetBreakers", breakers);
        registry.bind("profileBreaker", breakers.profile());
        registry.bind("settingsBreaker", breakers.settings());

        // a test may bind its own Disk (to record the order of fsyncs and renames) before start
        dev.agentconfig.store.Disk disk = registry.lookupByNameAndType("localStoreDisk", dev.agentconfig.store.Disk.class);
        LocalStore localStore = new LocalStore(settings.localStoreDir(), disk == null ? dev.agentconfig.store.Disk.system() : disk);
        registry.bind("localStore", localStore);

        AuditTrail audit = new AuditTrail(auditSink, 10_000);
        context.addService(audit, true, true);
        registry.bind("auditTrail", audit);

        registry.bind("fieldCipher", cipher);
        Metrics metrics = new Metrics(meters, breakers);
        registry.bind("metrics", metrics);
        Health health = new Health(backend, localStore, settings.maxPendingAge(), Health.cacheTtl(context));
        registry.bind("health", health);
        // the wall clock under the versions; a test may bind its own ("wallClock") to step it back
        java.time.Clock wall = registry.lookupByNameAndType("wallClock", java.time.Clock.class);
        VersionClock versionClock = new VersionClock(wall == null ? java.time.Clock.systemUTC() : wall,
                Settings.duration(context.getPropertiesComponent().resolveProperty("agentconfig.save.max-clock-lead")
                        .orElse("24h")));
        // after a restart the clock may be behind what this instance parked before: follow it
        versionClock.observe(localStore.newestVersionAtStart());
        registry.bind("versionClock", versionClock);
        registry.bind("saveSteps", new SaveSteps(cipher, versionClock, new IdempotencyKeys(10_000), classifier,
                localStore, audit, metrics));
        registry.bind("keepFailures", new KeepFailures());
        registry.bind("inboxSteps", new InboxSteps(settings.inboxDir()));
        UserTokens userTokens = settings.jwtSecret()
                .map(secret -> new UserTokens(secret, settings.tenantClaim(), settings.jwtClockSkew(),
                        settings.jwtAudience(), settings.jwtIssuer()))
                .orElse(null);
        registry.bind("httpGuard", new HttpGuard(serviceToken.value(), settings.maxBodyBytes(), userTokens));

        // ----- issue 3: read path, reveal, diagnostics, legacy rows ------------------------------
        // (routes/read.camel.yaml, api-read.camel.yaml, diagnostics.camel.yaml,
        //  api-diagnostics.camel.yaml, legacy-key.camel.yaml)
        KeyReader keyReader = new KeyReader(cipher);
        registry.bind("readSteps", new ReadSteps(keyReader, classifier, localStore, meters));
        registry.bind("collectReadings", new CollectReadings(classifier));
        registry.bind("reveal", new Reveal(registry.lookupByNameAndType("httpGuard", HttpGuard.class), keyReader,
                audit, meters));
        registry.bind("diagnostics", new Diagnostics(keyReader, schemaDrift));
        registry.bind("diagnosticsPage", new DiagnosticsPage());
        registry.bind("legacyKey", new LegacyKeyAdoption(cipher, localStore, audit));
        // inbound: an allow-list of request headers (no query parameter or form field becomes a header);
        // outbound: Cache-Control: no-store must reach the client (Camel's HTTP header filter drops it)
        context.getComponent("platform-http", org.apache.camel.component.platform.http.PlatformHttpComponent.class)
                .setHeaderFilterStrategy(new dev.agentconfig.api.HttpHeaderFilter());
        // ----- end of issue 3 ----------------------------------------------------------------------

        // ----- local store -> database sync (issue 4: routes/sync.camel.yaml, routes/api-sync.camel.yaml)
        SyncSettings syncSettings = SyncSettings.from(context);
        SyncMetrics syncMetrics = new SyncMetrics(meters, localStore);
        registry.bind("syncSteps", new SyncSteps(localStore,
                new Backoff(syncSettings.backoffBase(), syncSettings.backoffMax()), syncMetrics, audit));
        registry.bind("syncPass", new SyncPass(backend, localStore, syncSettings, syncMetrics));
        registry.bind("requeueSteps", new RequeueSteps(localStore, audit));
        if (syncSettings.haltAfterDbWrite()) {
            LOG.warn("FAULT INJECTION is on (agentconfig.sync.fault.halt-after-db-write=true): the JVM halts after "
                    + "the first replay that writes to the database. For tests only.");
        }
        // ----- end of the sync block

        ShutdownGate gate = new ShutdownGate();
        context.getManagementStrategy().addEventNotifier(gate);
        context.addStartupListener((ctx, alreadyStarted) -> {
            if (!alreadyStarted) {
                HttpErrorPages.install(ctx, settings.httpPort(), settings.maxBodyBytes(), gate);
                StartBanner.print(settings, serviceToken);
            }
        });
        LOG.info("agent-config-sync configured: data dir {}, {} database, transport {}", settings.dataDir(),
                settings.embeddedDatabase() ? "embedded" : settings.directDatabase() ? "external" : "no direct",
                settings.transport());
    }

    /**
     * camel-http (the rest transport's only use of it) for both schemes: PostgREST's own timeouts,
     * no automatic retries (the save path has its own: a 503 must not be retried behind its back),
     * no redirects, no cookies.
     */
    private static void configureHttpClients(CamelContext context, PostgrestSettings rest) {
        for (String scheme : List.of("http", "https")) {
            HttpComponent http = context.getComponent(scheme, HttpComponent.class);
            http.setConnectTimeout(rest.connectTimeout().toMillis());
            http.setConnectionRequestTimeout(rest.connectTimeout().toMillis());
            http.setResponseTimeout(rest.timeout().toMillis());
            http.setSoTimeout(rest.timeout().toMillis());
            http.setAutomaticRetriesDisabled(true);
            http.setRedirectHandlingDisabled(true);
            http.setCookieManagementDisabled(true);
            http.setUserAgent("agent-config-sync");
        }
    }
}
