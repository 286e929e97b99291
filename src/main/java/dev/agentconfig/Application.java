package dev.agentconfig;

import dev.agentconfig.api.StartBanner;
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
        main.addMainListener(StartBanner.listener());
        int code;
        try {
            code = main.run(args);
        } catch (Exception e) {
            System.err.println("agent-config-sync failed to start: " + e.getMessage());
            code = 1;
        } finally {
            EmbeddedDatabase.stopAll();
        }
        if (code != 0) {
            // a failed start: Camel's JVM shutdown hook would log "JVM shutdown hook triggered by SIGTERM" on the
            // exit below, though nobody sent one; marked completed, the hook has nothing left to stop and says nothing
            main.completed();
        }
        // the embedded PostgreSQL and the pool run non-daemon threads: leave deliberately
        System.exit(code);
    }
}
