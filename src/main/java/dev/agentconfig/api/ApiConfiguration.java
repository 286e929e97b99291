package dev.agentconfig.api;

import java.time.Duration;

import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.config.Beans;
import dev.agentconfig.config.Settings;
import dev.agentconfig.crypto.Secrets;
import dev.agentconfig.read.KeyReader;
import dev.agentconfig.receipt.History;
import dev.agentconfig.receipt.Receipts;
import dev.agentconfig.save.Saving;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.component.platform.http.PlatformHttpComponent;
import org.apache.camel.spi.Registry;

/** The HTTP front door (routes/api-*.camel.yaml): credentials, the doors' adapters, error pages. */
public final class ApiConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = Beans.settings(context);
        Registry registry = context.getRegistry();
        Secrets.Generated serviceToken = Beans.require(context, "serviceToken", Secrets.Generated.class);
        Duration maxTokenLifetime = Settings.duration(context.getPropertiesComponent()
                .resolveProperty("agentconfig.auth.max-token-lifetime").orElse("24h"));
        UserTokens userTokens = settings.jwtSecret()
                .map(secret -> new UserTokens(secret, settings.tenantClaim(), settings.jwtClockSkew(), maxTokenLifetime,
                        settings.jwtAudience(), settings.jwtIssuer()))
                .orElse(null);
        HttpServerSettings limits = HttpServerSettings.from(context);
        RateLimits rates = new RateLimits(limits.rateWindow());
        RefusalLog refusals = new RefusalLog(limits.refusalLogInterval());
        HttpGuard guard = new HttpGuard(serviceToken.value(), settings.maxBodyBytes(), userTokens, rates, limits);
        registry.bind("httpGuard", guard);
        registry.bind("httpSaves", new HttpSaves(Beans.require(context, "saving", Saving.class)));
        registry.bind("httpReads", new HttpReads(guard, Beans.require(context, "keyReader", KeyReader.class),
                Beans.require(context, "auditTrail", AuditTrail.class),
                Beans.require(context, "meterRegistry", MeterRegistry.class)));
        registry.bind("httpRequeue", new HttpRequeue());
        registry.bind("httpReceipts", new HttpReceipts(Beans.require(context, "receipts", Receipts.class)));
        registry.bind("httpHistory", new HttpHistory(Beans.require(context, "history", History.class)));
        registry.bind("httpKeys", new HttpKeys());
        registry.bind("diagnosticsPage", new DiagnosticsPage());
        // inbound: an allow-list of request headers (no query parameter or form field becomes a header);
        // outbound: Cache-Control: no-store must reach the client (Camel's HTTP header filter drops it)
        context.getComponent("platform-http", PlatformHttpComponent.class).setHeaderFilterStrategy(new HttpHeaderFilter());

        // the HTTP server itself (instead of camel.server): timeouts, connection and rate limits
        FrontDoorServer server = new FrontDoorServer(settings.httpHost(), settings.httpPort(), settings.maxBodyBytes(),
                limits, rates, refusals, guard::carriesServiceToken);
        registry.bind("frontDoorServer", server);
        server.setCamelContext(context);
        server.init();
        context.addService(server);

        ShutdownGate gate = new ShutdownGate();
        context.getManagementStrategy().addEventNotifier(gate);
        context.addStartupListener((ctx, alreadyStarted) -> {
            if (!alreadyStarted) {
                HttpErrorPages.install(ctx, settings.httpPort(), settings.maxBodyBytes(), gate, refusals);
            }
        });
        // printed by StartBanner.listener() once the start is over: last, after Camel's "Started <route>" lines
        registry.bind(StartBanner.BEAN, new StartBanner(settings, serviceToken));
    }
}
