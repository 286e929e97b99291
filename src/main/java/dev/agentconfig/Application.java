package dev.agentconfig;

import dev.agentconfig.db.EmbeddedDatabase;
import org.apache.camel.main.Main;

/**
 * Starts the service: {@code java -jar target/agent-config-sync.jar}; or runs a command:
 * {@code java -jar target/agent-config-sync.jar rotate-keys [--dry-run]} (no HTTP server).
 */
public final class Application {
    private Application() {
    }

    public static void main(String[] args) {
        if (RotateKeysCommand.is(args)) {
            int code;
            try {
                code = RotateKeysCommand.run(RotateKeysCommand.rest(args));
            } finally {
                EmbeddedDatabase.stopAll();
            }
            System.exit(code);
        }
        Main main = new Main();
        main.configure().addConfiguration(AppConfiguration.class);
        int code;
        try {
            code = main.run(args);
        } catch (Exception e) {
            System.err.println("agent-config-sync failed to start: " + e.getMessage());
            code = 1;
        } finally {
            EmbeddedDatabase.stopAll();
        }
        // the embedded PostgreSQL and the pool run non-daemon threads: leave deliberately
        System.exit(code);
    }
}
