package dev.agentconfig.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.agentconfig.observe.Tracing;
import dev.agentconfig.testing.ServiceTestSupport;
import dev.agentconfig.testing.UserJwts;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.main.MainConfigurationProperties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.chromium.ChromiumNetworkConditions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One edit, one trace: queued in the browser's outbox while the browser is offline, sent when it is back
 * (with the traceparent the client gave the edit), parked during a database outage, and committed by the
 * sync's drain once the database is back. The spans come from Camel's own tracing (observe/Tracing) into
 * an in-memory exporter, through the same SpanScrubber as OTLP: no attribute anywhere holds the key, an
 * agent id, or a plain user or tenant id.
 */
class BrowserTraceTest extends ServiceTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(BrowserTraceTest.class);
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final String SECRET = "browser-trace-test-secret-0123456789abcdef0123456";
    private static final int PAGE_PORT = freePort();
    private static final String APP_ORIGIN = "http://127.0.0.1:" + PAGE_PORT;
    /** The spans of the service, as an OTLP collector would receive them (after the scrubber). */
    static final InMemorySpanExporter SPANS = InMemorySpanExporter.create();

    private static final String APP_HTML = """
            <!doctype html><html><head><meta charset="utf-8"><title>app</title></head><body>
            <p id="state">loading</p>
            <script type="module">
            const p = new URLSearchParams(location.hash.slice(1));
            try {
              const m = await import(p.get('module'));
              window.client = m.createClient({ baseUrl: p.get('api'), getAccessToken: () => p.get('token'),
                interval: 600000, retryBase: 600000, timeout: 30000 });
              document.getElementById('state').textContent = 'ready';
            } catch (e) {
              document.getElementById('state').textContent = 'failed ' + e;
            }
            </script></body></html>
            """;

    private HttpServer pages;
    private ChromeDriver driver;
    private ChromeDriverService driverService;

    /** Binds the in-memory exporter before the service's wiring looks for one (observe/Tracing). */
    public static final class BindExporter implements CamelConfiguration {
        @Override
        public void configure(org.apache.camel.CamelContext context) {
            context.getRegistry().bind("spanExporter", SPANS);
        }
    }

    @Override
    protected void configure(MainConfigurationProperties configuration) {
        configuration.addConfiguration(new BindExporter());
        super.configure(configuration);
    }

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.auth.jwt-secret", SECRET);
        p.setProperty("agentconfig.http.cors-origins", APP_ORIGIN);
        return p;
    }

    @BeforeAll
    void startPagesAndBrowser() throws IOException {
        assertThat(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER))
                .as("this test needs Debian's chromium and chromium-driver").isTrue();
        pages = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), PAGE_PORT), 0);
        pages.createContext("/", exchange -> {
            byte[] body = APP_HTML.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        pages.start();
        System.setProperty("SE_OFFLINE", "true");
        Path profile = Files.createTempDirectory("acs-chromium-trace-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile);
        driverService = new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER.toString()))
                .usingAnyFreePort().build();
        driver = new ChromeDriver(driverService, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
    }

    @AfterAll
    void stopPagesAndBrowser() {
        if (driver != null) {
            driver.quit();
        }
        if (driverService != null) {
            driverService.stop();
        }
        if (pages != null) {
            pages.stop(0);
        }
    }

    private JsonNode call(String body, Object... args) {
        String script = "const done = arguments[arguments.length - 1];"
                + "const args = Array.prototype.slice.call(arguments, 0, -1);"
                + "(async () => {" + body + "})().then((v) => done(JSON.stringify(v === undefined ? null : v)),"
                + " (e) => done(JSON.stringify({ rejected: true, message: String(e && e.message) })));";
        return json(String.valueOf(((JavascriptExecutor) driver).executeAsyncScript(script, args)));
    }

    private static ChromiumNetworkConditions offline() {
        ChromiumNetworkConditions c = new ChromiumNetworkConditions();
        c.setOffline(true);
        return c;
    }

    @Test
    void anEditQueuedInTheBrowserParkedInAnOutageAndDrainedIsOneTraceWithoutSecretsOrAgentIds() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        String token = UserJwts.user(SECRET, tenant, user).sign();
        String hash = "module=" + enc(baseUrl() + "/client/agent-config.js") + "&api=" + enc(baseUrl())
                + "&token=" + enc(token);
        driver.get(APP_ORIGIN + "/app.html#" + hash);
        new WebDriverWait(driver, Duration.ofSeconds(15)).until(x -> {
            String state = x.findElement(By.id("state")).getText();
            assertThat(state).doesNotStartWith("failed");
            return state.equals("ready");
        });

        // 1. offline: the edit waits in the browser's outbox with the trace the client started for it
        driver.setNetworkConditions(offline());
        JsonNode queued = call("return await window.client.save(args[0], args[1], { retellApiKey: args[2], "
                + "callAgentId: 'agent_call_traced', smsAgentId: 'agent_sms_traced' });", tenant, user.toString(), key);
        assertThat(queued.get("status").asText()).as(queued.toString()).isEqualTo("pending");
        JsonNode record = json(String.valueOf(((JavascriptExecutor) driver).executeScript(
                "for (let i = 0; i < localStorage.length; i++) { const k = localStorage.key(i);"
                        + " if (k.startsWith('agent-config:v1:edit:')) { return localStorage.getItem(k); } } return 'null';")));
        String traceparent = record.get("traceparent").asText();
        assertThat(traceparent).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
        String traceId = traceparent.substring(3, 35);

        // 2. online again, the database down: the service parks the edit (202 queued) in the edit's trace
        stopDatabase();
        driver.deleteNetworkConditions();
        // (going online drains the outbox at once; syncNow waits for that drain or does it)
        JsonNode sent = call("return await window.client.syncNow();");
        LOG.info("browser sync: {}", sent);
        await().atMost(Duration.ofSeconds(30)).until(() -> localEntry(tenant, user).isPresent());
        JsonNode parked = localEntry(tenant, user).orElseThrow();
        assertThat(parked.get("traceparents").toString()).as("the parked entry keeps the edit's trace").contains(traceId);
        assertThat(profileRowOrNull(user)).as("the outage is real: nothing reached the database").isNull();
        await().atMost(Duration.ofSeconds(30)).until(() -> call(
                "return Object.keys(localStorage).filter((k) => k.startsWith('agent-config:v1:edit:')).length;").asInt() == 0);

        // 3. the database back, the drain: both tables hold the edit
        startDatabase();
        resetBreakers();
        HttpResponse<String> pass = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/sync"))
                .header("Authorization", "Bearer " + serviceToken).POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(pass.statusCode()).as(pass.body()).isEqualTo(202);
        assertThat(json(String.valueOf(profileRow(user).orElseThrow().get("encrypted_agent_config")))
                .get("call_agent_id").asText()).isEqualTo("agent_call_traced");
        assertThat(localEntry(tenant, user)).isEmpty();
        context.getRegistry().lookupByNameAndType("tracing", Tracing.class).flush();

        // 4. one trace: the request that parked the edit, and the replay that committed it
        List<SpanData> all = SPANS.getFinishedSpanItems();
        List<SpanData> trace = all.stream().filter(s -> s.getTraceId().equals(traceId)).toList();
        LOG.info("FIGURE trace {}: {} spans: {}", traceId, trace.size(),
                trace.stream().map(s -> s.getName() + "[" + s.getAttributes().get(AttributeKey.stringKey("camel.uri"))
                        + "]").collect(Collectors.joining(", ")));
        SpanData server = trace.stream().filter(s -> s.getParentSpanContext().getSpanId().equals(traceparent.substring(36, 52)))
                .findFirst().orElseThrow(() -> new AssertionError("no span is a child of the browser's: " + trace));
        // the front door's span (the REST route of PUT /api/v1/agent-config/{tenantId}/{userId}), its URI hashed
        assertThat(server.getName()).isEqualTo("/api/v1/agent-config/{tenantId}/{userId}");
        assertThat(String.valueOf(server.getAttributes().get(AttributeKey.stringKey("camel.uri"))))
                .matches("rest://put:/api/v1:/agent-config/t:[0-9a-f]{16}/u:[0-9a-f]{16}");
        assertThat(trace).anySatisfy(s -> assertThat(String.valueOf(s.getAttributes()
                .get(AttributeKey.stringKey("camel.uri")))).contains("park"));
        SpanData replay = trace.stream().filter(s -> s.getName().equals("sync replay")).findFirst()
                .orElseThrow(() -> new AssertionError("no replay span in the edit's trace: " + trace));
        assertThat(replay.getAttributes().get(AttributeKey.stringKey(Tracing.OUTCOME))).isEqualTo("drained");
        // the replay links to the batch that committed it (the pass's own trace), and that batch links back
        assertThat(replay.getLinks()).hasSize(1);
        String batchSpanId = replay.getLinks().get(0).getSpanContext().getSpanId();
        SpanData batch = all.stream().filter(s -> s.getSpanId().equals(batchSpanId)).findFirst().orElseThrow();
        assertThat(batch.getTraceId()).isNotEqualTo(traceId);
        assertThat(batch.getLinks()).extracting(LinkData::getSpanContext)
                .anySatisfy(c -> assertThat(c.getTraceId()).isEqualTo(traceId));
        assertThat(replay.getStartEpochNanos()).isGreaterThan(server.getEndEpochNanos());

        // 5. nothing in any span says the key, an agent id, or a user or tenant id in plain
        String hashedUser = String.valueOf(replay.getAttributes().get(AttributeKey.stringKey(Tracing.USER)));
        assertThat(hashedUser).matches("u:[0-9a-f]{16}");
        List<String> texts = new ArrayList<>();
        for (SpanData s : all) {
            texts.add(s.getName());
            s.getAttributes().forEach((k, v) -> texts.add(k.getKey() + "=" + v));
            s.getEvents().forEach(e -> {
                texts.add(e.getName());
                e.getAttributes().forEach((k, v) -> texts.add(k.getKey() + "=" + v));
            });
            s.getLinks().forEach(l -> l.getAttributes().forEach((k, v) -> texts.add(k.getKey() + "=" + v)));
        }
        assertThat(texts).hasSizeGreaterThan(20);
        assertThat(texts).anySatisfy(t -> assertThat(t).contains("/agent-config/t:"));
        for (String forbidden : List.of(key, KEY_PREFIX, "agent_call_traced", "agent_sms_traced", user.toString(),
                tenant)) {
            assertThat(texts).as("no span attribute holds " + forbidden).noneMatch(t -> t.contains(forbidden));
        }
    }

    private Object profileRowOrNull(UUID user) {
        try {
            return profileRow(user).orElse(null);
        } catch (RuntimeException e) {
            return null; // the database is down: it holds nothing new either
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
