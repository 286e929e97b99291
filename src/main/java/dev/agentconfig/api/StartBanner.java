package dev.agentconfig.api;

import dev.agentconfig.config.Settings;
import dev.agentconfig.crypto.Secrets;

/** What a person starting the service needs to see: where it listens and how to call it. */
public final class StartBanner {
    private StartBanner() {
    }

    public static void print(Settings settings, Secrets.Generated token) {
        String base = "http://" + settings.httpHost() + ":" + settings.httpPort();
        StringBuilder sb = new StringBuilder();
        sb.append("\n  agent-config-sync is up on ").append(base).append('\n');
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
        System.out.println(sb);
        System.out.flush();
    }
}
