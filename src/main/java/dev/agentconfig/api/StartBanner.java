package dev.agentconfig.api;

import dev.agentconfig.config.Settings;
import dev.agentconfig.crypto.Secrets;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListener;
import org.apache.camel.main.MainListenerSupport;

/**
 * What a person starting the service needs to see: where it listens and how to call it. Printed last, after
 * Camel's "Started <route>" lines and its "started in" line ({@link #listener()}, added by Application), with the address the server really listens on
 * (Camel's own "HTTP endpoints summary" says 0.0.0.0 whatever the bind address: log4j2.xml keeps it quiet).
 */
public final class StartBanner {
    /** The registry name ApiConfiguration binds this service's banner under. */
    public static final String BEAN = "startBanner";

    private final Settings settings;
    private final Secrets.Generated token;

    StartBanner(Settings settings, Secrets.Generated token) {
        this.settings = settings;
        this.token = token;
    }

    /** Prints the banner once Camel Main has started everything (its listeners run after the context's start). */
    public static MainListener listener() {
        return new MainListenerSupport() {
            @Override
            public void afterStart(BaseMainSupport main) {
                StartBanner banner = main.getCamelContext().getRegistry().lookupByNameAndType(BEAN, StartBanner.class);
                if (banner != null) {
                    banner.print();
                }
            }
        };
    }

    public void print() {
        System.out.println(text(settings, token));
        System.out.flush();
    }

    static String text(Settings settings, Secrets.Generated token) {
        boolean everywhere = "0.0.0.0".equals(settings.httpHost()) || "::".equals(settings.httpHost());
        // a server bound to every interface is reached on this host at the loopback address
        String base = "http://" + (everywhere ? "127.0.0.1" : settings.httpHost()) + ":" + settings.httpPort();
        StringBuilder sb = new StringBuilder();
        sb.append("\n  agent-config-sync is up on ").append(base)
                .append(everywhere ? " (listening on every interface, " + settings.httpHost() + ")" : "").append('\n');
        sb.append("  API         ").append(base).append("/api/v1/agent-config/{tenantId}/{userId}  (GET, PUT)\n");
        sb.append("  Health      ").append(base).append("/observe/health\n");
        sb.append("  Diagnostics ").append(base).append("/diagnostics\n");
        sb.append("  Client      ").append(base).append("/client/agent-config.js\n");
        if (token.file() != null) {
            String bearer;
            if (token.created()) {
                sb.append("  A service token was generated into ").append(token.file())
                        .append(" (mode 0600); it is shown this once:\n    ").append(token.value()).append('\n');
                bearer = token.value();
            } else {
                sb.append("  Service token: in ").append(token.file()).append('\n');
                bearer = "$(cat " + token.file() + ")";
            }
            sb.append("  Try a save:\n    curl -X PUT ").append(base)
                    .append("/api/v1/agent-config/acme/3f2b8c1e-5d4a-4b6f-9a0e-1c2d3e4f5a6b \\\n")
                    .append("      -H \"Authorization: Bearer ").append(bearer).append("\" \\\n")
                    .append("      -H 'Content-Type: application/json' -d '{\"callAgentId\":\"agent_call_1\"}'\n");
        }
        return sb.toString();
    }
}
