package dev.agentconfig.client;

import java.util.Set;

import dev.agentconfig.config.Beans;
import dev.agentconfig.config.Settings;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The browser client's side of the HTTP door (routes/api-client.camel.yaml): the ES module at
 * GET /client/agent-config.js, and CORS for the front ends listed in agentconfig.http.cors-origins.
 */
public final class ClientConfiguration implements CamelConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(ClientConfiguration.class);
    static final String CORS_ORIGINS = "agentconfig.http.cors-origins";

    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = Beans.settings(context);
        context.getRegistry().bind("clientModule", new ClientModule());
        Set<String> origins = CrossOrigin.parse(context.getPropertiesComponent().resolveProperty(CORS_ORIGINS).orElse(""));
        if (origins.isEmpty()) {
            return; // same origin only: a browser refuses every cross-origin call by itself
        }
        CrossOrigin cors = new CrossOrigin(origins);
        context.addStartupListener((ctx, alreadyStarted) -> {
            if (alreadyStarted) {
                return;
            }
            VertxPlatformHttpRouter router = VertxPlatformHttpRouter.lookup(ctx,
                    VertxPlatformHttpRouter.getRouterNameFromPort(settings.httpPort()));
            if (router == null) {
                throw new IllegalStateException(CORS_ORIGINS + " is set but no platform-http router was found");
            }
            // before every route of the server's router (the sub-router every request passes through)
            router.route().order(Integer.MIN_VALUE).handler(cors);
            LOG.info("CORS: browser front ends allowed from {}", CrossOrigin.describe(origins));
        });
    }
}
