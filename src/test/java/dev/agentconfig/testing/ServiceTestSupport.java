package dev.agentconfig.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Stream;

import javax.sql.DataSource;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.AppConfiguration;
import dev.agentconfig.api.PathIdentity;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.db.Database;
import dev.agentconfig.db.EmbeddedDatabase;
import dev.agentconfig.json.Json;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.camel.Exchange;
import org.apache.camel.main.MainConfigurationProperties;
import org.apache.camel.test.junit5.CamelContextConfiguration;
import org.apache.camel.test.main.junit5.CamelMainTestSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * The whole service in-process (same YAML routes, same properties, same beans as production),
 * on its own embedded PostgreSQL 17, data directory and HTTP port per test class.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ServiceTestSupport extends CamelMainTestSupport {
    protected static final SecureRandom RANDOM = new SecureRandom();
    /** Plaintext keys the tests send always start with this, so leaks can be searched for. */
    protected static final String KEY_PREFIX = "key_TESTSECRET_";

    protected Path dataDir;
    protected int httpPort;
    // assigned in configureContext, which CamelTestSupport calls from its constructor
    protected String serviceToken;
    protected byte[] encryptionKey;
    protected LogCapture logs;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    void captureLogs() {
        // attached before the context starts (CamelTestSupport starts it in beforeEach, per class)
        if (logs == null) {
            logs = LogCapture.attach();
        }
    }

    static {
        // the service stops its embedded PostgreSQL when its context stops; a test JVM that ends
        // without stopping a context must not leave servers behind
        Runtime.getRuntime().addShutdownHook(new Thread(dev.agentconfig.db.EmbeddedDatabase::stopAll, "stop-test-databases"));
    }

    /** Whatever a test class did, the service's own secrets never reached a log line. */
    @AfterAll
    void releaseLogs() {
        if (context != null && !context.isStopped()) {
            // the harness keeps the context for the class and does not stop it: stopped here, or its routes,
            // timers, HTTP server and Kafka clients would run on beside every later test class in this JVM
            context.getShutdownStrategy().setTimeout(10);
            context.stop();
        }
        if (context != null) {
            context.getRegistry().findByType(Database.class).forEach(db -> db.embedded().ifPresent(EmbeddedDatabase::stop));
        }
        if (logs != null) {
            logs.detach();
            assertThat(logs.text())
                    .as("the service token or the encryption key appeared in the log output")
                    .doesNotContain(serviceToken)
                    .doesNotContain(Base64.getEncoder().encodeToString(encryptionKey))
                    .doesNotContain(KEY_PREFIX);
        }
    }

    @Override
    protected void configure(MainConfigurationProperties configuration) {
        configuration.addConfiguration(AppConfiguration.class);
    }

    @Override
    public void configureContext(CamelContextConfiguration configuration) {
        super.configureContext(configuration);
        if (logs == null) {
            logs = LogCapture.attach();
        }
        try {
            dataDir = Files.createTempDirectory("acs-test-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        httpPort = freePort();
        serviceToken = "svc_" + UUID.randomUUID();
        encryptionKey = randomBytes(32);
        Properties p = new Properties();
        p.setProperty("agentconfig.data-dir", dataDir.toString());
        p.setProperty("agentconfig.http.port", String.valueOf(httpPort));
        p.setProperty("agentconfig.encryption.key", Base64.getEncoder().encodeToString(encryptionKey));
        p.setProperty("agentconfig.auth.service-token", serviceToken);
        p.setProperty("agentconfig.db.connect-timeout", "400ms");
        p.setProperty("agentconfig.db.statement-timeout", "1500ms");
        p.setProperty("agentconfig.breaker.probe-interval", "200ms");
        p.setProperty("agentconfig.inbox.poll-delay", "200");
        // tests look at health right after changing what it checks: no result reused across requests
        // (overlapping requests still share one probe)
        p.setProperty("agentconfig.health.cache-ttl", "0s");
        // no scheduled sync pass unless a test class asks for one (extraProperties): a background
        // pass would drain local entries that other tests assert on. POST /api/v1/sync still works.
        p.setProperty("agentconfig.sync.interval", "60m");
        p.setProperty("agentconfig.sync.initial-delay", "60m");
        // tests send hundreds of requests a second as one user or one address: the rate limits are out of
        // their way unless a class tests them (HttpRateLimitTest sets its own)
        p.setProperty("agentconfig.http.rate.per-user", "1000000");
        p.setProperty("agentconfig.http.rate.per-address", "1000000");
        p.setProperty("agentconfig.http.rate.per-service", "1000000");
        p.putAll(extraProperties());
        configuration.withUseOverridePropertiesWithPropertiesComponent(p);
    }

    /** Per-class overrides. */
    protected Properties extraProperties() {
        return new Properties();
    }

    // ----- identities and secrets ------------------------------------------------------------

    protected static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    protected static String newKey() {
        return KEY_PREFIX + HexFormat.of().formatHex(randomBytes(12));
    }

    protected static String newTenant() {
        return "t" + HexFormat.of().formatHex(randomBytes(4));
    }

    protected static UUID newUser() {
        return UUID.randomUUID();
    }

    protected FieldCipher cipher() {
        return new FieldCipher(encryptionKey);
    }

    // ----- the service -------------------------------------------------------------------------

    protected Database database() {
        return context.getRegistry().lookupByNameAndType("database", Database.class);
    }

    protected EmbeddedDatabase embedded() {
        return database().embedded().orElseThrow();
    }

    protected void stopDatabase() {
        embedded().stop();
    }

    /** Starts the database again and waits until the service's pool reaches it. */
    protected void startDatabase() {
        embedded().start();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
            try (Connection c = dataSource().getConnection()) {
                return c.isValid(1);
            }
        });
    }

    protected CircuitBreaker breaker(String name) {
        return context.getRegistry().lookupByNameAndType(name, CircuitBreaker.class);
    }

    /** Closes both breakers so that a test starts from a healthy service. */
    protected void resetBreakers() {
        breaker("profileBreaker").reset();
        breaker("settingsBreaker").reset();
    }

    /**
     * Sends a save through the route direct:save, as the HTTP front door does (the path's identity,
     * the JSON body as a SaveCommand). The returned exchange holds the answer as the HTTP door gives
     * it: the body as a map, its status in CamelHttpResponseCode.
     */
    protected Exchange saveRoute(String tenant, Object user, String json) {
        dev.agentconfig.core.SaveCommand command = new dev.agentconfig.save.SaveCommandParser().http(
                dev.agentconfig.core.UserKey.of(tenant, String.valueOf(user)),
                json == null ? null : json.getBytes(StandardCharsets.UTF_8), null);
        Exchange ex = template.request("direct:save", e -> e.getMessage().setBody(command));
        if (ex.getException() == null && ex.getMessage().getBody() instanceof dev.agentconfig.core.SaveOutcome o) {
            ex.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, o.httpStatus());
            ex.getMessage().setBody(dev.agentconfig.save.SaveAnswer.of(o));
        }
        return ex;
    }

    // ----- HTTP ----------------------------------------------------------------------------------

    protected String baseUrl() {
        return "http://127.0.0.1:" + httpPort;
    }

    protected HttpResponse<String> put(String tenant, Object user, String json) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + serviceToken)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)));
    }

    protected HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return http.send(request.timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    protected static JsonNode json(HttpResponse<String> response) {
        return Json.tree(response.body());
    }

    protected static JsonNode json(String text) {
        return Json.tree(text);
    }

    // ----- database ------------------------------------------------------------------------------

    protected DataSource dataSource() {
        return database().dataSource();
    }

    protected List<Map<String, Object>> query(String sql, Object... args) {
        try (Connection c = dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                List<Map<String, Object>> rows = new ArrayList<>();
                ResultSetMetaData md = rs.getMetaData();
                while (rs.next()) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        Object v = rs.getObject(i);
                        row.put(md.getColumnLabel(i), v == null ? null : (v instanceof org.postgresql.util.PGobject pg ? pg.getValue() : v));
                    }
                    rows.add(row);
                }
                return rows;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    protected void execute(String sql) {
        try (Connection c = dataSource().getConnection(); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    protected Optional<Map<String, Object>> profileRow(UUID user) {
        return query("SELECT * FROM public.user_profiles WHERE user_id = ?", user).stream().findFirst();
    }

    protected Optional<Map<String, Object>> settingsRow(UUID user) {
        return query("SELECT * FROM public.user_settings WHERE user_id = ?", user).stream().findFirst();
    }

    /** A logical dump: every row of every table of the service's schemas, as text. */
    protected String dumpDatabase() {
        StringBuilder sb = new StringBuilder();
        for (Map<String, Object> t : query("SELECT table_schema, table_name FROM information_schema.tables "
                + "WHERE table_schema IN ('public', 'agentconfig') AND table_type = 'BASE TABLE' "
                + "ORDER BY table_schema, table_name")) {
            String name = t.get("table_schema") + "." + t.get("table_name");
            sb.append("-- ").append(name).append('\n');
            for (Map<String, Object> row : query("SELECT x::text AS r FROM " + name + " x")) {
                sb.append(row.get("r")).append('\n');
            }
        }
        return sb.toString();
    }

    // ----- local store ---------------------------------------------------------------------------

    protected Path localFile(String tenant, UUID user) {
        return dataDir.resolve("local-store").resolve(tenant).resolve(user + ".json");
    }

    protected Optional<JsonNode> localEntry(String tenant, UUID user) {
        Path f = localFile(tenant, user);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.tree(Files.readString(f)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every byte under the data directory (database files, local store, inbox) contains no `needle`. */
    protected void assertNotInDataDir(String needle) {
        byte[] n = needle.getBytes(StandardCharsets.UTF_8);
        try (Stream<Path> files = Files.walk(dataDir)) {
            files.filter(Files::isRegularFile).forEach(f -> {
                try {
                    byte[] content = Files.readAllBytes(f);
                    assertThat(indexOf(content, n)).as("plaintext found in %s", f).isEqualTo(-1);
                } catch (IOException e) {
                    // a file removed while walking (WAL recycling, temp files) is fine
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    protected static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
