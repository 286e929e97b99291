package dev.agentconfig;

import java.util.Arrays;
import java.util.List;

import dev.agentconfig.audit.AuditConfiguration;
import dev.agentconfig.crypto.CryptoConfiguration;
import dev.agentconfig.db.DatabaseConfiguration;
import dev.agentconfig.json.Json;
import dev.agentconfig.postgrest.PostgrestConfiguration;
import dev.agentconfig.rotation.KeyRotation;
import dev.agentconfig.rotation.RotationStatus;
import dev.agentconfig.store.StoreConfiguration;
import dev.agentconfig.transport.TransportConfiguration;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.main.Main;

/**
 * {@code java -jar agent-config-sync.jar rotate-keys [--dry-run]}: the key rotation as a command, for a
 * service that is not running (it takes the data dir's lock like the service, and re-seals the tables and
 * that data dir's local store). The same wiring and configuration as the service, without its front doors:
 * no HTTP server, no sync, no inbox; only the transport's routes. Runs the rotation to its end, prints the
 * summary, exits 0 when every value is sealed with the active key, 2 when some could not be re-sealed
 * (named in the log), 1 when it failed. {@code --dry-run} prints what each key seals and changes nothing.
 */
final class RotateKeysCommand {
    static final String NAME = "rotate-keys";

    private RotateKeysCommand() {
    }

    static int run(String[] args) {
        boolean dryRun = false;
        for (String a : args) {
            if ("--dry-run".equals(a)) {
                dryRun = true;
            } else {
                System.err.println("usage: java -jar agent-config-sync.jar " + NAME + " [--dry-run]   (unknown: "
                        + a + ")");
                return 64;
            }
        }
        Main main = new Main();
        main.configure().addConfiguration(Wiring.class);
        main.addOverrideProperty("camel.server.enabled", "false");
        main.addOverrideProperty("camel.main.routesIncludePattern",
                "classpath:routes/error-handling.camel.yaml,classpath:routes/transport-*.camel.yaml");
        try {
            main.start();
        } catch (Exception e) {
            System.err.println("agent-config-sync " + NAME + " failed to start: " + e.getMessage());
            return 1;
        }
        try {
            KeyRotation rotation = main.getCamelContext().getRegistry().lookupByNameAndType("keyRotation", KeyRotation.class);
            if (dryRun) {
                System.out.println(Json.write(rotation.report()));
                return 0;
            }
            RotationStatus status = rotation.runToCompletion();
            System.out.println(NAME + ": " + status.state() + ": " + status.resealed() + " values re-sealed with key "
                    + status.activeKeyId() + " (" + status.legacy() + " legacy plaintext keys sealed), "
                    + status.changed() + " replaced by saves meanwhile, " + status.failed() + " failed, " + status.left()
                    + " left" + (status.detail() == null ? "" : ". " + status.detail()));
            return switch (status.state()) {
                case RotationStatus.FINISHED -> 0;
                case RotationStatus.INCOMPLETE -> 2;
                default -> 1;
            };
        } catch (RuntimeException e) {
            System.err.println("agent-config-sync " + NAME + " failed: " + e.getMessage());
            return 1;
        } finally {
            try {
                main.stop();
            } catch (RuntimeException e) {
                System.err.println("agent-config-sync " + NAME + ": stopping: " + e.getMessage());
            }
        }
    }

    static boolean is(String[] args) {
        return args.length > 0 && NAME.equals(args[0]);
    }

    static String[] rest(String[] args) {
        return Arrays.copyOfRange(args, 1, args.length);
    }

    /** The service's wiring without its front doors. */
    public static final class Wiring extends AppConfiguration {
        private static final List<CamelConfiguration> FEATURES = List.of(
                new CryptoConfiguration(),
                new TransportConfiguration(),
                new DatabaseConfiguration(),
                new PostgrestConfiguration(),
                new StoreConfiguration(),
                new AuditConfiguration(),
                new dev.agentconfig.rotation.RotationConfiguration());

        @Override
        protected List<CamelConfiguration> features() {
            return FEATURES;
        }
    }
}
