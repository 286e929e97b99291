package dev.agentconfig.postgrest;

import java.time.Clock;
import java.util.List;
import java.util.function.Supplier;

import dev.agentconfig.config.Beans;
import dev.agentconfig.config.Settings;
import dev.agentconfig.db.Database;
import dev.agentconfig.observe.ServiceChecks;
import dev.agentconfig.save.IdempotencySettings;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.component.http.HttpComponent;
import org.apache.camel.spi.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rest transport (agentconfig.transport=rest): Supabase's PostgREST over camel-http
 * (routes/transport-rest.camel.yaml) as the backend, the target writes, the reads and the audit sink.
 */
public final class PostgrestConfiguration implements CamelConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(PostgrestConfiguration.class);

    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = Beans.settings(context);
        if (!settings.restTransport()) {
            return;
        }
        Registry registry = context.getRegistry();
        Database database = Beans.optional(context, "database", Database.class);
        MeterRegistry meters = Beans.require(context, "meterRegistry", MeterRegistry.class);
        PostgrestSettings rest = PostgrestSettings.from(settings, context);
        PostgrestAuth auth = new PostgrestAuth(PostgrestSettings.key(settings));
        configureHttpClients(context, rest);
        registry.bind("postgrestAuth", auth);
        registry.bind("postgrestHeaders", new PostgrestHeaders());
        SchemaDriftRegister drift = new SchemaDriftRegister();
        registry.bind("schemaDrift", drift);
        SchemaCacheReload schemaCache = new SchemaCacheReload(database == null ? null : database.dataSource(), meters);
        registry.bind("schemaCache", schemaCache);
        registry.bind("postgrest", new PostgrestSteps(auth, drift, schemaCache, meters));
        PostgrestPayloads payloads = new PostgrestPayloads();
        PostgrestClient client = new PostgrestClient(context,
                Beans.require(context, "failureClassifier", dev.agentconfig.transport.FailureClassifier.class));
        registry.bind("targetReads", new PostgrestReads(client, payloads));
        PostgrestBackend backend = new PostgrestBackend(rest.url(), client, drift, database);
        registry.bind("backend", backend);
        ServiceChecks.probed(context, database == null ? List.of("postgrest", "schema")
                : List.of("postgrest", "schema", "directDatabase"), backend::healthChecks, "postgrest");
        registry.bind("auditSink", new PostgrestAuditSink(client));
        // each PostgREST request commits on its own; a save's Idempotency-Key is recorded after its targets
        PostgrestIdempotencyRecords idempotencyRecords = new PostgrestIdempotencyRecords(client);
        registry.bind("idempotencyRecords", idempotencyRecords);
        Clock wall = Beans.optional(context, "wallClock", Clock.class);
        // the two tables, one request per target per save; save/FailurePolicy wraps it as the bean targetWrites
        registry.bind("transportWrites", new PostgrestTargetWrites(client, payloads,
                Beans.require(context, "failureClassifier", dev.agentconfig.transport.FailureClassifier.class),
                idempotencyRecords, IdempotencySettings.from(context), wall == null ? Clock.systemUTC() : wall));
        registry.bind("sealedKeys", new PostgrestSealedKeys(client));
        Supplier<List<String>> report = () -> drift.current().stream().map(SchemaDriftRegister::describe).toList();
        registry.bind("schemaDriftReport", report);
        if (database == null) {
            LOG.info("Transport rest: {}/rest/v1, no direct database (no schema-cache reloads, migrations are run "
                    + "in the Supabase SQL editor)", rest.url());
        } else {
            LOG.info("Transport rest: {}/rest/v1, direct database for migrations and NOTIFY pgrst", rest.url());
        }
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
