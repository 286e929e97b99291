package dev.agentconfig.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

import org.apache.camel.CamelContext;
import org.apache.camel.spi.PropertiesComponent;

/**
 * The service's configuration, read once from Camel's properties (config/application.properties,
 * overridden by JVM system properties and by environment variables such as AGENTCONFIG_DB_URL).
 */
public record Settings(
        Path dataDir,
        Optional<String> dbUrl,
        Optional<String> dbUser,
        Optional<String> dbPassword,
        int dbPoolSize,
        Duration dbConnectTimeout,
        Duration dbStatementTimeout,
        Optional<String> encryptionKey,
        Optional<String> serviceToken,
        Optional<String> jwtSecret,
        String tenantClaim,
        Duration jwtClockSkew,
        String jwtAudience,
        Optional<String> jwtIssuer,
        String httpHost,
        int httpPort,
        int maxBodyBytes,
        String transport,
        Optional<String> supabaseUrl,
        Optional<String> supabaseKey,
        int saveRetryAttempts,
        Duration breakerOpenWait,
        Duration breakerProbeInterval,
        int breakerMinimumCalls,
        int breakerWindow,
        float breakerFailureRate,
        Duration syncInterval,
        Duration maxPendingAge) {

    public static final String TRANSPORT_JDBC = "jdbc";
    public static final String TRANSPORT_REST = "rest";

    /** The routes reach the database through Supabase's PostgREST (camel-http) instead of JDBC (camel-sql). */
    public boolean restTransport() {
        return TRANSPORT_REST.equals(transport);
    }

    /**
     * The embedded PostgreSQL runs only for the jdbc transport without a database URL. With the rest
     * transport the database lives behind PostgREST: nothing local is started.
     */
    public boolean embeddedDatabase() {
        return !restTransport() && dbUrl.isEmpty();
    }

    /**
     * A SQL connection to the database exists: always with jdbc (embedded or external); with rest only
     * when agentconfig.db.url is set (then used for migrations and NOTIFY pgrst, never for data).
     */
    public boolean directDatabase() {
        return !restTransport() || dbUrl.isPresent();
    }

    public Path localStoreDir() {
        return dataDir.resolve("local-store");
    }

    public Path inboxDir() {
        return dataDir.resolve("inbox");
    }

    public Path secretsDir() {
        return dataDir.resolve("secrets");
    }

    public static Settings from(CamelContext context) {
        PropertiesComponent pc = context.getPropertiesComponent();
        Function<String, Optional<String>> get = key -> pc.resolveProperty(key)
                .map(String::trim)
                .filter(v -> !v.isEmpty());
        Function<String, String> req = key -> get.apply(key)
                .orElseThrow(() -> new IllegalStateException("configuration key " + key + " is required"));
        return new Settings(
                Path.of(req.apply("agentconfig.data-dir")).toAbsolutePath().normalize(),
                get.apply("agentconfig.db.url"),
                get.apply("agentconfig.db.user"),
                get.apply("agentconfig.db.password"),
                Integer.parseInt(req.apply("agentconfig.db.pool-size")),
                duration(req.apply("agentconfig.db.connect-timeout")),
                duration(req.apply("agentconfig.db.statement-timeout")),
                get.apply("agentconfig.encryption.key"),
                get.apply("agentconfig.auth.service-token"),
                get.apply("agentconfig.auth.jwt-secret"),
                req.apply("agentconfig.auth.tenant-claim"),
                duration(req.apply("agentconfig.auth.clock-skew")),
                req.apply("agentconfig.auth.audience"),
                get.apply("agentconfig.auth.issuer"),
                req.apply("agentconfig.http.host"),
                Integer.parseInt(req.apply("agentconfig.http.port")),
                Integer.parseInt(req.apply("agentconfig.http.max-body-bytes")),
                transport(req.apply("agentconfig.transport")),
                get.apply("agentconfig.supabase.url"),
                get.apply("agentconfig.supabase.key"),
                Integer.parseInt(req.apply("agentconfig.save.retry-attempts")),
                duration(req.apply("agentconfig.breaker.open-wait")),
                duration(req.apply("agentconfig.breaker.probe-interval")),
                Integer.parseInt(req.apply("agentconfig.breaker.minimum-calls")),
                Integer.parseInt(req.apply("agentconfig.breaker.window")),
                Float.parseFloat(req.apply("agentconfig.breaker.failure-rate")),
                duration(req.apply("agentconfig.sync.interval")),
                duration(req.apply("agentconfig.health.max-pending-age")));
    }

    /**
     * Exactly {@code jdbc} or {@code rest}: the route files choose their implementation with a
     * precondition on this very value, so a near miss ("REST", "http") must stop the start.
     */
    static String transport(String value) {
        if (!TRANSPORT_JDBC.equals(value) && !TRANSPORT_REST.equals(value)) {
            throw new IllegalStateException("agentconfig.transport must be '" + TRANSPORT_JDBC + "' or '"
                    + TRANSPORT_REST + "', not '" + value + "'");
        }
        return value;
    }

    /** Accepts "250ms", "10s", "5m", "24h" or a plain number of milliseconds. */
    public static Duration duration(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.endsWith("h")) {
            return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1).trim()) * 60);
        }
        if (t.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2).trim()));
        }
        if (t.endsWith("s")) {
            return Duration.ofMillis(Math.round(Double.parseDouble(t.substring(0, t.length() - 1).trim()) * 1000));
        }
        if (t.endsWith("m")) {
            return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1).trim()) * 60);
        }
        return Duration.ofMillis(Long.parseLong(t));
    }
}
