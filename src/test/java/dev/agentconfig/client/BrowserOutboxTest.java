package dev.agentconfig.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.agentconfig.testing.ServiceTestSupport;
import dev.agentconfig.testing.UserJwts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.WindowType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The browser client (GET /client/agent-config.js) in real headless Chromium against the real service.
 *
 * <p>The application page is served from another origin (a JDK HttpServer on its own port, listed in
 * agentconfig.http.cors-origins), imports the module from the service, and talks to the service through
 * a {@link TcpRelay}: "the service stopped" is that port refusing connections, as a stopped service's
 * port does (the browser cannot tell the difference); "started" is the port listening again. The
 * service process itself, its database and its tables stay up, which is what lets the test read the
 * tables the moment the browser's outbox drains.
 */
class BrowserOutboxTest extends ServiceTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(BrowserOutboxTest.class);
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final String SECRET = "browser-outbox-test-secret-0123456789abcdef0123";
    /** The application's origin (chosen before the service starts: its CORS list names it). */
    private static final int PAGE_PORT = freePort();
    private static final String APP_ORIGIN = "http://127.0.0.1:" + PAGE_PORT;
    /** The schedule of the application's client in these tests. */
    private static final int INTERVAL_MS = 3000;
    /** A retry schedule no test outlasts: a sync within a test's awaited minute was not the schedule's doing. */
    private static final int LONG_SCHEDULE_MS = 600_000;
    private static final String FAIL_BACKGROUND = "rgba(253, 226, 225, 1)";

    private HttpServer pages;
    private TcpRelay relay;
    private final List<Browser> browsers = new ArrayList<>();
    private Browser browser;

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.auth.jwt-secret", SECRET);
        p.setProperty("agentconfig.http.cors-origins", APP_ORIGIN);
        // the database is not under test here: a slow start on a busy machine must not postpone the migration
        p.setProperty("agentconfig.db.connect-timeout", "5000ms");
        return p;
    }

    // ----- the application's page, the relay, the browsers -----------------------------------------

    /** The application: imports the module from the service, makes a client, records its events. */
    private static final String APP_HTML = """
            <!doctype html><html><head><meta charset="utf-8"><title>app</title></head><body>
            <p id="state">loading</p>
            <script type="module">
            const p = new URLSearchParams(location.hash.slice(1));
            window.events = [];
            try {
              const m = await import(p.get('module'));
              window.agentConfig = m;
              const client = m.createClient({ baseUrl: p.get('api'), getAccessToken: () => p.get('token'),
                interval: Number(p.get('interval')), retryBase: Number(p.get('retryBase')),
                timeout: Number(p.get('timeout')) });
              for (const type of ['pending', 'synced', 'superseded', 'error']) {
                client.addEventListener(type, (e) => window.events.push({ type, at: Date.now(), detail: e.detail }));
              }
              window.client = client;
              document.getElementById('state').textContent = 'ready ' + m.VERSION;
            } catch (e) {
              document.getElementById('state').textContent = 'failed ' + e;
            }
            </script></body></html>
            """;

    private record Browser(ChromeDriver driver, ChromeDriverService service, Path profile) {
    }

    @BeforeAll
    void startPagesRelayAndBrowser() throws IOException {
        assertThat(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER))
                .as("this test needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
                .isTrue();
        pages = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), PAGE_PORT), 0);
        pages.createContext("/", exchange -> {
            byte[] body = (exchange.getRequestURI().getPath().equals("/app.html") ? APP_HTML
                    : "<!doctype html><title>blank</title>").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            exchange.getResponseHeaders().set("Cache-Control", "no-store");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        pages.start();
        relay = new TcpRelay(TcpRelay.listeningPort(), httpPort);
        browser = startBrowser();
    }

    @AfterAll
    void stopEverything() {
        for (Browser b : new ArrayList<>(browsers)) {
            quit(b);
        }
        if (relay != null) {
            relay.close();
        }
        if (pages != null) {
            pages.stop(0);
        }
    }

    @BeforeEach
    void freshState() {
        relay.release();
        relay.answer503(false);
        relay.start();
        // one window, this origin's storage empty (each test its own user besides)
        WebDriver d = browser.driver();
        List<String> handles = new ArrayList<>(d.getWindowHandles());
        for (int i = 1; i < handles.size(); i++) {
            d.switchTo().window(handles.get(i)).close();
        }
        d.switchTo().window(handles.get(0));
        browser.driver().deleteNetworkConditions();
        d.get(APP_ORIGIN + "/blank.html");
        call(d, "localStorage.clear(); return await new Promise((resolve) => { const r = indexedDB.deleteDatabase("
                + "'agent-config-outbox'); r.onsuccess = () => resolve('deleted'); r.onerror = () => resolve('error'); "
                + "r.onblocked = () => resolve('blocked'); });");
    }

    private Browser startBrowser() throws IOException {
        // explicit binaries: Selenium Manager must not look for (or download) anything
        System.setProperty("SE_OFFLINE", "true");
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        Path profile = Files.createTempDirectory("acs-chromium-outbox-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER.toString())).usingAnyFreePort().build();
        long t0 = System.nanoTime();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
        LOG.info("FIGURE headless Chromium started in {} ms", (System.nanoTime() - t0) / 1_000_000);
        Browser b = new Browser(driver, service, profile);
        browsers.add(b);
        return b;
    }

    private void quit(Browser b) {
        browsers.remove(b);
        try {
            b.driver().quit();
        } finally {
            b.service().stop();
            try (Stream<Path> files = Files.walk(b.profile())) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    // ----- helpers --------------------------------------------------------------------------------

    private String moduleUrl() {
        return baseUrl() + "/client/agent-config.js";
    }

    private String relayUrl() {
        return "http://127.0.0.1:" + relay.port();
    }

    private static String token(String tenant, UUID user) {
        return UserJwts.user(SECRET, tenant, user).sign();
    }

    /** Loads the application page (a new document: a client of its own, a drain at load). */
    private void openApp(WebDriver d, String api, String token, int retryBase, int timeout) {
        openApp(d, api, token, INTERVAL_MS, retryBase, timeout);
    }

    private void openApp(WebDriver d, String api, String token, int interval, int retryBase, int timeout) {
        String hash = "module=" + enc(moduleUrl()) + "&api=" + enc(api) + "&token=" + enc(token)
                + "&interval=" + interval + "&retryBase=" + retryBase + "&timeout=" + timeout;
        d.get("about:blank");
        d.get(APP_ORIGIN + "/app.html#" + hash);
        awaitReady(d);
    }

    private static void awaitReady(WebDriver d) {
        new WebDriverWait(d, Duration.ofSeconds(15)).until(x -> {
            String state = x.findElement(By.id("state")).getText();
            assertThat(state).doesNotStartWith("failed");
            return state.startsWith("ready");
        });
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /**
     * Runs an async function body in the page; its value comes back as JSON. A rejection comes back as
     * {"rejected": true, "name", "message", "status"} (never with the arguments it was given).
     */
    private static JsonNode call(WebDriver d, String body, Object... args) {
        String script = "const done = arguments[arguments.length - 1];"
                + "const args = Array.prototype.slice.call(arguments, 0, -1);"
                + "(async () => {" + body + "})().then("
                + "  (v) => done(JSON.stringify(v === undefined ? null : v)),"
                + "  (e) => done(JSON.stringify({ rejected: true, name: String(e && e.name),"
                + "     message: String(e && e.message), status: (e && e.status) || 0, code: (e && e.code) || null })));";
        Object result = ((JavascriptExecutor) d).executeAsyncScript(script, args);
        return json(String.valueOf(result));
    }

    /** Everything in this origin's localStorage. */
    private static Map<String, String> localStorage(WebDriver d) {
        JsonNode all = json(String.valueOf(((JavascriptExecutor) d).executeScript(
                "const o = {}; for (let i = 0; i < localStorage.length; i++) { const k = localStorage.key(i);"
                        + " o[k] = localStorage.getItem(k); } return JSON.stringify(o);")));
        Map<String, String> out = new java.util.TreeMap<>();
        all.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }

    /** The outbox records (one per save) in this origin's localStorage. */
    private static List<JsonNode> outbox(WebDriver d) {
        List<JsonNode> out = new ArrayList<>();
        localStorage(d).forEach((k, v) -> {
            if (k.startsWith("agent-config:v1:edit:")) {
                out.add(json(v));
            }
        });
        return out;
    }

    private static List<JsonNode> events(WebDriver d, String type) {
        JsonNode all = json(String.valueOf(((JavascriptExecutor) d).executeScript("return JSON.stringify(window.events || [])")));
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode e : all) {
            if (type.equals(e.get("type").asText())) {
                out.add(e);
            }
        }
        return out;
    }

    private static long micros(String iso) {
        Instant t = Instant.parse(iso);
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000L;
    }

    private JsonNode profileConfig(UUID user) {
        return json(String.valueOf(profileRow(user).orElseThrow().get("encrypted_agent_config")));
    }

    private JsonNode settingsConfig(UUID user) {
        return json(String.valueOf(settingsRow(user).orElseThrow().get("retell_config")));
    }

    private JsonNode versions(Map<String, Object> row) {
        return json(String.valueOf(row.get("field_versions")));
    }

    /** The saves that reached the service for this user (the audit trail writes one row per save). */
    private List<JsonNode> savesReceived(UUID user) {
        List<JsonNode> out = new ArrayList<>();
        for (Map<String, Object> row : query("SELECT details FROM public.audit_log WHERE event = 'save' AND user_id = ? "
                + "ORDER BY id", user)) {
            out.add(json(String.valueOf(row.get("details"))));
        }
        return out;
    }

    private static boolean anyContains(Map<String, String> storage, String needle) {
        for (Map.Entry<String, String> e : storage.entrySet()) {
            if (e.getKey().contains(needle) || e.getValue().contains(needle)) {
                return true;
            }
        }
        return false;
    }

    // ----- service stopped -> save -> outbox (ciphertext only) -> service started -> synced --------------

    @Test
    void aSaveTheServiceCannotTakeWaitsAsCiphertextAndReachesBothTablesWithinTheInterval() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        WebDriver d = browser.driver();
        relay.stop(); // the service as the browser sees it: stopped
        openApp(d, relayUrl(), token(tenant, user), 300, 4000);

        JsonNode saved = call(d, "return await window.client.save(args[0], args[1], { retellApiKey: args[2],"
                + " callAgentId: 'call_offline', smsAgentId: 'sms_offline' });", tenant, user.toString(), key);
        assertThat(saved.get("status").asText()).as(saved.toString()).isEqualTo("pending");
        assertThat(saved.get("reason").asText()).isEqualTo("network");
        String editedAt = saved.get("editedAt").asText();

        // the outbox: the fields, and the key only as AES-GCM ciphertext
        Map<String, String> storage = localStorage(d);
        List<JsonNode> records = outbox(d);
        assertThat(records).hasSize(1);
        JsonNode record = records.get(0);
        assertThat(record.get("editedAt").asText()).isEqualTo(editedAt);
        assertThat(record.at("/fields/callAgentId/value").asText()).isEqualTo("call_offline");
        assertThat(record.at("/fields/smsAgentId/value").asText()).isEqualTo("sms_offline");
        assertThat(record.at("/fields/retellApiKey").has("value")).isFalse();
        assertThat(record.at("/fields/retellApiKey/sealed/alg").asText()).isEqualTo("A256GCM");
        assertThat(record.at("/fields/retellApiKey/sealed/ct").asText()).isNotBlank();
        assertThat(anyContains(storage, key)).as("the plaintext key in localStorage").isFalse();
        assertThat(anyContains(storage, key.substring(KEY_PREFIX.length()))).as("part of the key in localStorage").isFalse();
        // the sealing key lives in IndexedDB and cannot be exported
        JsonNode sealingKey = call(d, "const db = await new Promise((res, rej) => { const r = indexedDB.open("
                + "'agent-config-outbox'); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });"
                + "const entry = await new Promise((res) => { const g = db.transaction('keys').objectStore('keys')"
                + ".get('outbox-key'); g.onsuccess = () => res(g.result); });"
                + "let exported = 'refused'; try { await crypto.subtle.exportKey('raw', entry.key); exported = 'exported'; }"
                + " catch (e) { exported = e.name; } db.close();"
                + "return { algorithm: entry.key.algorithm.name, extractable: entry.key.extractable, exported };");
        assertThat(sealingKey.get("algorithm").asText()).isEqualTo("AES-GCM");
        assertThat(sealingKey.get("extractable").asBoolean()).isFalse();
        assertThat(sealingKey.get("exported").asText()).isEqualTo("InvalidAccessError");
        assertThat(events(d, "pending")).hasSize(1);
        JsonNode status = call(d, "return await window.client.status();");
        assertThat(status.get("pending").asInt()).isEqualTo(3);
        assertThat(status.get("since").asText()).isEqualTo(editedAt);
        assertThat(status.at("/lastError/message").asText()).contains("could not be reached");
        // a read while the service is away: the pending values, marked pending (no "data loss" on refresh)
        JsonNode offlineRead = call(d, "return await window.client.read(args[0], args[1]);", tenant, user.toString());
        assertThat(offlineRead.get("offline").asBoolean()).isTrue();
        assertThat(offlineRead.get("callAgentId").asText()).isEqualTo("call_offline");
        assertThat(offlineRead.at("/fields/callAgentId/pending").asBoolean()).isTrue();
        assertThat(offlineRead.get("retellApiKey").asText()).isEqualTo(dev.agentconfig.crypto.FieldCipher.mask(key));
        assertThat(profileRow(user)).isEmpty();
        assertThat(settingsRow(user)).isEmpty();

        // the service is back: the outbox retries on its own (no call, no reload), both tables hold the save, the
        // outbox is empty. How soon is a figure (logged), not asserted: a loaded runner delays the browser's timers
        long started = System.currentTimeMillis();
        relay.start();
        await().atMost(Duration.ofMillis(INTERVAL_MS + 60_000)).pollInterval(Duration.ofMillis(100))
                .until(() -> !events(d, "synced").isEmpty());
        JsonNode synced = events(d, "synced").get(0);
        long tookMs = synced.get("at").asLong() - started;
        LOG.info("FIGURE browser outbox: service back -> synced event {} ms (interval {} ms)", tookMs, INTERVAL_MS);
        assertThat(synced.at("/detail/status").asText()).isEqualTo("saved");
        assertThat(synced.at("/detail/fields")).hasSize(3);
        assertThat(outbox(d)).isEmpty();
        assertThat(profileConfig(user).get("call_agent_id").asText()).isEqualTo("call_offline");
        assertThat(settingsConfig(user).get("sms_agent_id").asText()).isEqualTo("sms_offline");
        String envelope = String.valueOf(profileRow(user).orElseThrow().get("encrypted_retell_api_key"));
        assertThat(cipher().open(envelope, tenant + ":" + user + ":retellApiKey").equals(key)).as("the key arrived").isTrue();
        // the versions are the edit's own moment, not the moment of the sync
        assertThat(versions(profileRow(user).orElseThrow()).get("callAgentId").asLong()).isEqualTo(micros(editedAt));
        assertThat(versions(settingsRow(user).orElseThrow()).get("retellApiKey").asLong()).isEqualTo(micros(editedAt));
        JsonNode after = call(d, "return await window.client.status();");
        assertThat(after.get("pending").asInt()).isZero();
        JsonNode read = call(d, "return await window.client.read(args[0], args[1]);", tenant, user.toString());
        assertThat(read.get("offline").asBoolean()).isFalse();
        assertThat(read.get("pending")).isEmpty();
        assertThat(read.get("callAgentId").asText()).isEqualTo("call_offline");
    }

    // ----- a page opened while the service is stopped: the user's values, marked last known ------------------

    @Test
    void aFreshPageOpenedWhileTheServiceIsStoppedReadsTheLastKnownValuesAndStatusSaysOffline() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        WebDriver d = browser.driver();
        openApp(d, relayUrl(), token(tenant, user), 300, 4000);
        JsonNode saved = call(d, "return await window.client.save(args[0], args[1], { retellApiKey: args[2],"
                + " callAgentId: 'call_known', smsAgentId: 'sms_known' });", tenant, user.toString(), key);
        assertThat(saved.get("status").asText()).as(saved.toString()).isEqualTo("saved");
        assertThat(call(d, "return (await window.client.status()).online;").asBoolean()).isTrue();
        Instant savedAt = Instant.now();

        // the service stops; a fresh page of the same origin (a new document, a new client)
        relay.stop();
        openApp(d, relayUrl(), token(tenant, user), 300, 4000);
        JsonNode read = call(d, "return await window.client.read(args[0], args[1]);", tenant, user.toString());
        assertThat(read.get("offline").asBoolean()).as(read.toString()).isTrue();
        assertThat(read.get("error").get("message").asText()).contains("could not be reached");
        assertThat(read.get("callAgentId").asText()).isEqualTo("call_known");
        assertThat(read.get("smsAgentId").asText()).isEqualTo("sms_known");
        assertThat(read.get("retellApiKey").asText()).isEqualTo(dev.agentconfig.crypto.FieldCipher.mask(key));
        for (String f : List.of("retellApiKey", "callAgentId", "smsAgentId")) {
            JsonNode field = read.at("/fields/" + f);
            assertThat(field.get("source").asText()).as(f).isEqualTo("last_known");
            assertThat(Instant.parse(field.get("asOf").asText())).as(f).isBeforeOrEqualTo(savedAt)
                    .isAfter(savedAt.minusSeconds(60));
            assertThat(field.get("version").asLong()).as(f).isEqualTo(micros(saved.get("editedAt").asText()));
        }
        assertThat(read.get("complete").asBoolean()).isFalse();
        assertThat(read.get("unknown")).isEmpty();
        assertThat(Instant.parse(read.get("asOf").asText())).isBeforeOrEqualTo(savedAt);
        // the copy holds what the service shows: the key masked, never its plaintext
        Map<String, String> storage = localStorage(d);
        assertThat(storage.keySet()).anyMatch(k -> k.startsWith("agent-config:v1:known:"));
        assertThat(anyContains(storage, key)).as("the plaintext key in localStorage").isFalse();
        assertThat(anyContains(storage, key.substring(KEY_PREFIX.length()))).as("part of the key in localStorage").isFalse();

        // status() tells the truth: the browser is online, the service is not reachable
        assertThat(call(d, "return navigator.onLine;").asBoolean()).isTrue();
        JsonNode status = call(d, "return await window.client.status();");
        assertThat(status.get("online").asBoolean()).as(status.toString()).isFalse();
        assertThat(Instant.parse(status.get("onlineCheckedAt").asText())).isAfter(savedAt);

        // an edit while stopped: pending over the last-known value; every time field an ISO-8601 string
        JsonNode pending = call(d, "return await window.client.save(args[0], args[1], { callAgentId: 'call_offline' });",
                tenant, user.toString());
        assertThat(pending.get("status").asText()).as(pending.toString()).isEqualTo("pending");
        JsonNode withPending = call(d, "return await window.client.read(args[0], args[1]);", tenant, user.toString());
        assertThat(withPending.get("callAgentId").asText()).isEqualTo("call_offline");
        assertThat(withPending.at("/fields/callAgentId/source").asText()).isEqualTo("browser-outbox");
        assertThat(withPending.at("/fields/smsAgentId/source").asText()).isEqualTo("last_known");
        JsonNode u = call(d, "return (await window.client.status()).users[0];");
        for (String timeField : List.of("nextAttemptAt", "since")) {
            assertThat(u.get(timeField).isTextual()).as(timeField + " in " + u).isTrue();
            Instant.parse(u.get(timeField).asText());
        }
        assertThat(u.at("/lastError/at").isTextual()).isTrue();
        assertThat(u.at("/pending/0/editedAt").isTextual()).isTrue();

        // a user this browser never saw: nothing known, nothing null, all listed as unknown
        JsonNode stranger = call(d, "return await window.client.read(args[0], args[1]);", tenant, newUser().toString());
        assertThat(stranger.get("offline").asBoolean()).isTrue();
        for (String f : List.of("retellApiKey", "callAgentId", "smsAgentId")) {
            assertThat(stranger.has(f)).as(f + " in " + stranger).isFalse();
        }
        assertThat(stranger.get("unknown")).extracting(JsonNode::asText)
                .containsExactly("retellApiKey", "callAgentId", "smsAgentId");

        // the service is back: the next attempt decides again
        relay.start();
        await().atMost(Duration.ofSeconds(INTERVAL_MS / 1000 + 10)).pollInterval(Duration.ofMillis(200))
                .until(() -> call(d, "return (await window.client.status()).pending;").asInt() == 0);
        JsonNode back = call(d, "return await window.client.status();");
        assertThat(back.get("online").asBoolean()).as(back.toString()).isTrue();
        JsonNode fresh = call(d, "return await window.client.read(args[0], args[1]);", tenant, user.toString());
        assertThat(fresh.get("complete").asBoolean()).as(fresh.toString()).isTrue();
        assertThat(fresh.get("callAgentId").asText()).isEqualTo("call_offline");
        assertThat(fresh.at("/fields/callAgentId/source").asText()).isEqualTo("user_profiles");
    }

    // ----- an offline edit older than a newer save from another device ------------------------------------

    @Test
    void anOfflineEditOlderThanANewerSaveFromAnotherProfileDoesNotOverwriteIt() throws IOException {
        String tenant = newTenant();
        UUID user = newUser();
        String token = token(tenant, user);
        ChromeDriver laptop = browser.driver();
        // a long schedule (the next attempt 5-10 minutes away): after going online only the `online` event can
        // explain a sync within the minute awaited below
        openApp(laptop, baseUrl(), token, LONG_SCHEDULE_MS, LONG_SCHEDULE_MS, 4000);
        laptop.setNetworkConditions(offline(true));
        JsonNode offline = call(laptop, "return await window.client.save(args[0], args[1], "
                + "{ callAgentId: 'made_offline_first', smsAgentId: 'sms_offline' });", tenant, user.toString());
        assertThat(offline.get("status").asText()).as(offline.toString()).isEqualTo("pending");
        assertThat(call(laptop, "return navigator.onLine;").asBoolean()).isFalse();

        // meanwhile, on a phone (another browser profile: its own storage, its own outbox), online
        Browser phone = startBrowser();
        JsonNode newer;
        try {
            openApp(phone.driver(), baseUrl(), token, 300, 4000);
            newer = call(phone.driver(), "return await window.client.save(args[0], args[1], "
                    + "{ callAgentId: 'made_later_on_phone' });", tenant, user.toString());
            assertThat(newer.get("status").asText()).as(newer.toString()).isEqualTo("saved");
            assertThat(outbox(phone.driver())).isEmpty();
        } finally {
            quit(phone);
        }
        assertThat(Instant.parse(newer.get("editedAt").asText())).isAfter(Instant.parse(offline.get("editedAt").asText()));

        // the laptop comes back online: its outbox drains at once (the `online` event)
        long back = System.currentTimeMillis();
        laptop.deleteNetworkConditions();
        assertThat(call(laptop, "return navigator.onLine;").asBoolean()).isTrue();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> !events(laptop, "synced").isEmpty());
        JsonNode synced = events(laptop, "synced").get(0);
        LOG.info("FIGURE browser outbox: online event -> synced event {} ms (next scheduled attempt was 5-10 min away)",
                synced.get("at").asLong() - back);
        // sooner than the schedule's earliest attempt (half the base, jitter): the online event did it
        assertThat(synced.get("at").asLong() - back).as("online -> synced").isLessThan(LONG_SCHEDULE_MS / 2);
        // the older edit lost where something newer was there, and landed where nothing newer was
        assertThat(synced.at("/detail/status").asText()).isEqualTo("stale");
        assertThat(outbox(laptop)).isEmpty();
        for (JsonNode config : List.of(profileConfig(user), settingsConfig(user))) {
            assertThat(config.get("call_agent_id").asText()).isEqualTo("made_later_on_phone");
            assertThat(config.get("sms_agent_id").asText()).isEqualTo("sms_offline");
        }
        JsonNode v = versions(profileRow(user).orElseThrow());
        assertThat(v.get("callAgentId").asLong()).isEqualTo(micros(newer.get("editedAt").asText()));
        assertThat(v.get("smsAgentId").asLong()).isEqualTo(micros(offline.get("editedAt").asText()));
        JsonNode read = call(laptop, "return await window.client.read(args[0], args[1]);", tenant, user.toString());
        assertThat(read.get("callAgentId").asText()).isEqualTo("made_later_on_phone");
        assertThat(read.get("pending")).isEmpty();
    }

    private static org.openqa.selenium.chromium.ChromiumNetworkConditions offline(boolean offline) {
        org.openqa.selenium.chromium.ChromiumNetworkConditions c = new org.openqa.selenium.chromium.ChromiumNetworkConditions();
        c.setOffline(offline);
        return c;
    }

    // ----- two tabs of one profile --------------------------------------------------------------------------

    @Test
    void twoTabsOfOneProfileDrainOnceAndAReloadMidDrainLosesNothing() {
        String tenant = newTenant();
        UUID user = newUser();
        String token = token(tenant, user);
        WebDriver d = browser.driver();
        relay.stop();
        openApp(d, relayUrl(), token, 300, 8000);
        String tabA = d.getWindowHandle();
        JsonNode first = call(d, "return await window.client.save(args[0], args[1], { callAgentId: 'call_pending' });",
                tenant, user.toString());
        assertThat(first.get("status").asText()).isEqualTo("pending");
        d.switchTo().newWindow(WindowType.TAB);
        openApp(d, relayUrl(), token, 300, 8000);
        String tabB = d.getWindowHandle();
        List<String> tabs = List.of(tabA, tabB);

        // the service comes back, every request held at its door: both tabs try to drain
        relay.hold();
        relay.start();
        for (String tab : tabs) {
            d.switchTo().window(tab);
            ((JavascriptExecutor) d).executeScript("window.client.syncNow().then((r) => { window.drained = r; });");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> relay.held() >= 1);
        String drainer = drainingTab(d, tabs);
        relay.release();
        await().atMost(Duration.ofSeconds(10)).until(() -> outbox(d).isEmpty());
        await().atMost(Duration.ofSeconds(10)).until(() -> savesReceived(user).size() >= 1);
        // exactly one drain: one PUT reached the service, one tab saw it synced, the other tab was turned away
        int syncedEvents = 0;
        for (String tab : tabs) {
            d.switchTo().window(tab);
            syncedEvents += events(d, "synced").size();
            JsonNode again = call(d, "return await window.client.syncNow();");
            assertThat(again.get("sent").asInt()).as("nothing left to send").isZero();
        }
        assertThat(syncedEvents).isEqualTo(1);
        assertThat(savesReceived(user)).hasSize(1);
        assertThat(profileConfig(user).get("call_agent_id").asText()).isEqualTo("call_pending");
        LOG.info("two tabs: {} drained, saves received {}", drainer.equals(tabA) ? "tab A" : "tab B", savesReceived(user).size());

        // a reload mid-drain, and a save in the other tab while the drain runs
        relay.stop();
        d.switchTo().window(tabA);
        JsonNode mid = call(d, "return await window.client.save(args[0], args[1], { smsAgentId: 'sms_mid_drain' });",
                tenant, user.toString());
        assertThat(mid.get("status").asText()).isEqualTo("pending");
        // the service gets the drain's request and saves it; its answer waits at the door
        relay.holdAnswers();
        relay.start();
        d.switchTo().window(tabA);
        ((JavascriptExecutor) d).executeScript("window.client.syncNow();");
        await().atMost(Duration.ofSeconds(10)).until(() -> savesReceived(user).stream()
                .anyMatch(save -> save.get("fields").toString().contains("smsAgentId")));
        String draining = drainingTab(d, tabs);
        String other = draining.equals(tabA) ? tabB : tabA;
        d.switchTo().window(other);
        ((JavascriptExecutor) d).executeScript("window.saved = null; window.client.save(arguments[0], arguments[1], "
                + "{ callAgentId: 'call_during_drain' }).then((r) => { window.saved = r; }, (e) => { window.saved = "
                + "{ failed: String(e) }; });", tenant, user.toString());
        d.switchTo().window(draining);
        d.navigate().refresh(); // the page goes away before the answer came: it does not know it was saved
        awaitReady(d);
        relay.release();
        d.switchTo().window(other);
        await().atMost(Duration.ofSeconds(15)).until(() -> !"null".equals(String.valueOf(
                ((JavascriptExecutor) d).executeScript("return JSON.stringify(window.saved);"))));
        JsonNode during = json(String.valueOf(((JavascriptExecutor) d).executeScript("return JSON.stringify(window.saved);")));
        assertThat(during.path("status").asText()).as(during.toString()).isIn("saved", "pending");
        await().atMost(Duration.ofMillis(2L * INTERVAL_MS + 60_000)).until(() -> outbox(d).isEmpty()
                && "sms_mid_drain".equals(profileConfig(user).path("sms_agent_id").asText())
                && "call_during_drain".equals(profileConfig(user).path("call_agent_id").asText()));
        for (JsonNode config : List.of(profileConfig(user), settingsConfig(user))) {
            assertThat(config.get("sms_agent_id").asText()).isEqualTo("sms_mid_drain");
            assertThat(config.get("call_agent_id").asText()).isEqualTo("call_during_drain");
        }
        // each edit kept its one version, however often it was sent
        JsonNode v = versions(settingsRow(user).orElseThrow());
        assertThat(v.get("smsAgentId").asLong()).isEqualTo(micros(mid.get("editedAt").asText()));
        assertThat(v.get("callAgentId").asLong()).isEqualTo(micros(during.get("editedAt").asText()));
        List<Long> smsVersions = new ArrayList<>();
        for (JsonNode save : savesReceived(user)) {
            for (JsonNode f : save.get("fields")) {
                if (f.asText().equals("smsAgentId")) {
                    smsVersions.add(save.get("version").asLong());
                }
            }
        }
        LOG.info("FIGURE reload mid-drain: the edit reached the service {} time(s), always at version {}",
                smsVersions.size(), micros(mid.get("editedAt").asText()));
        // sent again after the reload (the answer was lost), with the same version: nothing overtaken, nothing lost
        assertThat(smsVersions).hasSizeGreaterThanOrEqualTo(2).allMatch(x -> x == micros(mid.get("editedAt").asText()));
    }

    /** The tab whose client is draining now (the other one was turned away by the lock). */
    private static String drainingTab(WebDriver d, List<String> tabs) {
        String[] found = new String[1];
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            List<String> draining = new ArrayList<>();
            for (String tab : tabs) {
                d.switchTo().window(tab);
                if (call(d, "return (await window.client.status()).draining;").asBoolean()) {
                    draining.add(tab);
                }
            }
            assertThat(draining).as("tabs draining at once").hasSizeLessThanOrEqualTo(1);
            found[0] = draining.isEmpty() ? null : draining.get(0);
            return found[0] != null;
        });
        return found[0];
    }

    // ----- 4xx is not queued; network, 5xx and timeouts are ----------------------------------------------------

    @Test
    void aRefusalIsReturnedAndNotQueuedWhileA503OrATimeoutIsQueued() {
        String tenant = newTenant();
        UUID user = newUser();
        String token = token(tenant, user);
        WebDriver d = browser.driver();
        openApp(d, relayUrl(), token, 300, 4000);

        JsonNode invalid = call(d, "return await window.client.save(args[0], args[1], { callAgentId: 'not valid!' });",
                tenant, user.toString());
        assertThat(invalid.path("rejected").asBoolean()).as("a 400 is returned as an error: %s", invalid).isTrue();
        assertThat(invalid.get("name").asText()).isEqualTo("AgentConfigError");
        assertThat(invalid.get("status").asInt()).isEqualTo(400);
        JsonNode forbidden = call(d, "return await window.client.save(args[0], args[1], { callAgentId: 'agent_x' });",
                newTenant(), newUser().toString());
        assertThat(forbidden.path("rejected").asBoolean()).as("a 403 is returned as an error: %s", forbidden).isTrue();
        assertThat(forbidden.get("status").asInt()).as(forbidden.toString()).isEqualTo(403);
        assertThat(outbox(d)).isEmpty();
        assertThat(events(d, "pending")).isEmpty();
        assertThat(call(d, "return (await window.client.status()).pending;").asInt()).isZero();

        // a proxy answering 503 during a deploy: kept, and sent once the service answers again
        relay.answer503(true);
        JsonNode deploying = call(d, "return await window.client.save(args[0], args[1], { callAgentId: 'after_deploy' });",
                tenant, user.toString());
        assertThat(deploying.get("status").asText()).as(deploying.toString()).isEqualTo("pending");
        assertThat(deploying.get("reason").asText()).isEqualTo("http-503");
        assertThat(outbox(d)).hasSize(1);
        relay.answer503(false);
        await().atMost(Duration.ofMillis(INTERVAL_MS + 60_000)).until(() -> outbox(d).isEmpty());
        assertThat(profileConfig(user).get("call_agent_id").asText()).isEqualTo("after_deploy");

        // no answer within the timeout: kept too
        relay.hold();
        JsonNode slow = call(d, "const p = new URLSearchParams(location.hash.slice(1));"
                + "const c = window.agentConfig.createClient({ baseUrl: p.get('api'), getAccessToken: () => p.get('token'),"
                + " timeout: 800, autoSync: false });"
                + "return await c.save(args[0], args[1], { smsAgentId: 'sms_slow' });", tenant, user.toString());
        assertThat(slow.get("status").asText()).as(slow.toString()).isEqualTo("pending");
        assertThat(slow.get("reason").asText()).isEqualTo("timeout");
        relay.release();
        await().atMost(Duration.ofMillis(INTERVAL_MS + 60_000)).until(() -> outbox(d).isEmpty());
        assertThat(settingsConfig(user).get("sms_agent_id").asText()).isEqualTo("sms_slow");
    }

    // ----- a cleared browser key: the pending key is lost, visibly ------------------------------------------

    @Test
    void aClearedBrowserKeyMakesThePendingKeyLostOnTheDiagnosticsPage() {
        String tenant = newTenant();
        UUID user = newUser();
        String token = token(tenant, user);
        String key = newKey();
        WebDriver d = browser.driver();
        // the diagnostics page, served by the service (through the relay: page and API one origin)
        d.get(relayUrl() + "/diagnostics");
        WebDriverWait wait = new WebDriverWait(d, Duration.ofSeconds(15));
        wait.until(x -> x.findElement(By.id("outbox-summary")).getText().startsWith("Nothing pending"));

        relay.stop();
        JsonNode pending = call(d, "const m = await import('/client/agent-config.js');"
                + "const c = m.createClient({ baseUrl: '', getAccessToken: () => args[3], autoSync: false });"
                + "return await c.save(args[0], args[1], { retellApiKey: args[2], callAgentId: 'call_kept' });",
                tenant, user.toString(), key, token);
        assertThat(pending.get("status").asText()).as(pending.toString()).isEqualTo("pending");
        assertThat(anyContains(localStorage(d), key)).as("plaintext key in localStorage").isFalse();
        assertThat(outbox(d).get(0).at("/fields/retellApiKey/sealed/ct").asText()).isNotBlank();
        // this site's IndexedDB is cleared (the browser's "clear site data", an eviction), localStorage is not
        JsonNode deleted = call(d, "return await new Promise((resolve) => { const r = indexedDB.deleteDatabase("
                + "'agent-config-outbox'); r.onsuccess = () => resolve('deleted'); r.onerror = () => resolve('error');"
                + " r.onblocked = () => resolve('blocked'); });");
        assertThat(deleted.asText()).isEqualTo("deleted");

        relay.start();
        d.navigate().refresh();
        WebElement lost = wait.until(x -> {
            List<WebElement> rows = x.findElements(By.cssSelector("#outbox tr.lost[data-field='retellApiKey']"));
            return rows.isEmpty() || !rows.get(0).isDisplayed() ? null : rows.get(0);
        });
        assertThat(lost.getText()).contains("LOST", "site data cleared");
        assertThat(lost.findElement(By.cssSelector("td")).getCssValue("background-color")).isEqualTo(FAIL_BACKGROUND);
        assertThat(d.findElement(By.cssSelector("#outbox tr.pending[data-field='callAgentId']")).getText()).contains("pending");
        assertThat(d.findElement(By.id("outbox-summary")).getText()).contains("1 field(s) pending", "1 key(s) lost");

        // "Sync now" with the token: the agent id goes, the lost key is not sent (and stays reported)
        d.findElement(By.id("token")).sendKeys(token);
        d.findElement(By.id("sync-now")).click();
        wait.until(x -> x.findElement(By.id("sync-result")).getText().contains("synced 1"));
        assertThat(profileConfig(user).get("call_agent_id").asText()).isEqualTo("call_kept");
        assertThat(profileRow(user).orElseThrow().get("encrypted_retell_api_key")).isNull();
        assertThat(json(String.valueOf(settingsRow(user).orElseThrow().get("encrypted_api_keys"))).has("retell_api_key")).isFalse();
        List<JsonNode> received = savesReceived(user);
        assertThat(received).hasSize(1);
        assertThat(received.get(0).get("fields").toString()).isEqualTo("[\"callAgentId\"]");
        wait.until(x -> x.findElements(By.cssSelector("#outbox tr.pending")).isEmpty());
        assertThat(d.findElement(By.cssSelector("#outbox tr.lost[data-field='retellApiKey']")).isDisplayed()).isTrue();
        assertThat(outbox(d)).isEmpty();
        assertThat(d.findElement(By.tagName("body")).getText().contains(key)).as("plaintext key on the page").isFalse();
    }

    // ----- merge per field; many users' edits in one drain --------------------------------------------------

    @Test
    void pendingEditsMergePerFieldAndADrainSendsOneRequestPerEdit() {
        int users = 20;
        String tenant = newTenant();
        List<UUID> ids = new ArrayList<>();
        Map<String, String> tokens = new java.util.LinkedHashMap<>();
        for (int i = 0; i < users; i++) {
            UUID u = newUser();
            ids.add(u);
            tokens.put(u.toString(), token(tenant, u));
        }
        WebDriver d = browser.driver();
        relay.stop();
        openApp(d, relayUrl(), tokens.get(ids.get(0).toString()), 300, 4000);
        // one client for every user of this browser (a shared computer): each user's own token
        call(d, "const p = new URLSearchParams(location.hash.slice(1)); window.client.close();"
                + "window.many = window.agentConfig.createClient({ baseUrl: p.get('api'),"
                + " getAccessToken: ({ userId }) => args[0][userId] || null, autoSync: false, timeout: 4000 });"
                + "return null;", tokens);
        // the first user edits its call agent five times and its sms agent once, all while the service is away
        UUID first = ids.get(0);
        List<String> editedAt = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            editedAt.add(call(d, "return (await window.many.save(args[0], args[1], { callAgentId: args[2] })).editedAt;",
                    tenant, first.toString(), "call_v" + i).asText());
        }
        call(d, "return await window.many.save(args[0], args[1], { smsAgentId: 'sms_once' });", tenant, first.toString());
        for (UUID u : ids.subList(1, users)) {
            call(d, "return await window.many.save(args[0], args[1], { callAgentId: 'call_many', smsAgentId: 'sms_many' });",
                    tenant, u.toString());
        }
        assertThat(outbox(d)).hasSize(6 + users - 1);
        JsonNode status = call(d, "return await window.many.status();");
        // per field the newest edit: two fields of the first user, two of every other
        assertThat(status.get("pending").asInt()).isEqualTo(2 * users);
        assertThat(status.get("users")).hasSize(users);

        relay.start();
        long t0 = System.nanoTime();
        JsonNode drained = call(d, "return await window.many.syncNow();");
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        LOG.info("FIGURE browser outbox: drain of {} pending edits ({} users, {} PUTs) in {} ms", 6 + users - 1, users,
                drained.get("sent").asInt(), tookMs);
        assertThat(drained.get("sent").asInt()).isEqualTo(2 + users - 1);
        assertThat(drained.get("synced").asInt()).isEqualTo(2 + users - 1);
        assertThat(drained.get("remaining").asInt()).isZero();
        assertThat(outbox(d)).isEmpty();
        // the superseded edits were never sent; the newest one carries its own moment
        assertThat(savesReceived(first)).hasSize(2);
        assertThat(profileConfig(first).get("call_agent_id").asText()).isEqualTo("call_v5");
        assertThat(settingsConfig(first).get("sms_agent_id").asText()).isEqualTo("sms_once");
        assertThat(versions(profileRow(first).orElseThrow()).get("callAgentId").asLong()).isEqualTo(micros(editedAt.get(4)));
        for (UUID u : ids.subList(1, users)) {
            assertThat(profileConfig(u).get("call_agent_id").asText()).isEqualTo("call_many");
            assertThat(settingsConfig(u).get("sms_agent_id").asText()).isEqualTo("sms_many");
        }
    }

    // ----- receipts: an edit that lost is told, also after a reload; safe sign-out -------------------------

    @Test
    void aParkedEditThatLostToANewerOneIsReportedSupersededOnThePageLoadedAfterIt() {
        String tenant = newTenant();
        UUID user = newUser();
        String token = token(tenant, user);
        ChromeDriver laptop = browser.driver();
        openApp(laptop, baseUrl(), token, 300, 4000);
        JsonNode parked;
        execute("ALTER TABLE public.user_profiles RENAME TO user_profiles_away");
        try {
            parked = call(laptop, "return await window.client.save(args[0], args[1], { callAgentId: 'laptop_parked' });",
                    tenant, user.toString());
        } finally {
            execute("ALTER TABLE public.user_profiles_away RENAME TO user_profiles");
        }
        // the service took it and parked it: the browser watches its receipt, in localStorage
        assertThat(parked.get("status").asText()).as(parked.toString()).isEqualTo("queued");
        String saveId = parked.get("saveId").asText();
        assertThat(localStorage(laptop).keySet()).anyMatch(k -> k.startsWith("agent-config:v1:watch:") && k.endsWith(saveId));

        // the page is reloaded (a new document, a new client); meanwhile another device saves a newer value and
        // the service's sync drains the parked edit, which loses
        openApp(laptop, baseUrl(), token, 300, 4000);
        HttpResponse<String> phone = put(tenant, user, "{\"callAgentId\":\"phone_newer\"}");
        assertThat(phone.statusCode()).as(phone.body()).isEqualTo(200);
        HttpResponse<String> pass = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/sync"))
                .header("Authorization", "Bearer " + serviceToken).POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(pass.statusCode()).isEqualTo(202);
        assertThat(profileConfig(user).get("call_agent_id").asText()).isEqualTo("phone_newer");

        await().atMost(Duration.ofSeconds(60)).until(() -> !events(laptop, "superseded").isEmpty());
        JsonNode superseded = events(laptop, "superseded").get(0).get("detail");
        assertThat(superseded.get("saveId").asText()).isEqualTo(saveId);
        assertThat(superseded.at("/fields/callAgentId/saveId").asText()).isEqualTo(json(phone).get("saveId").asText());
        assertThat(superseded.at("/fields/callAgentId/origin").asText()).isEqualTo("http");
        assertThat(localStorage(laptop).keySet()).noneMatch(k -> k.startsWith("agent-config:v1:watch:"));
        JsonNode receipt = call(laptop, "return await window.client.receipt(args[0], args[1], args[2]);", tenant,
                user.toString(), saveId);
        assertThat(receipt.get("status").asText()).as(receipt.toString()).isEqualTo("superseded");
        // told once: a further page load does not tell it again
        openApp(laptop, baseUrl(), token, 300, 4000);
        call(laptop, "await new Promise((r) => setTimeout(r, 1000)); return null;");
        assertThat(events(laptop, "superseded")).isEmpty();
    }

    @Test
    void signOutDrainsWithinItsDeadlineThenKeepsOrDiscardsTheSealedEdits() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        String token = token(tenant, user);
        ChromeDriver d = browser.driver();
        // through the relay, on a schedule no test outlasts: only signOut itself sends while the test runs
        openApp(d, relayUrl(), token, LONG_SCHEDULE_MS, LONG_SCHEDULE_MS, 2000);
        relay.stop(); // the service as the browser sees it: stopped
        JsonNode pending = call(d, "return await window.client.save(args[0], args[1], { retellApiKey: args[2], "
                + "callAgentId: 'signed_out_offline' });", tenant, user.toString(), key);
        assertThat(pending.get("status").asText()).isEqualTo("pending");
        JsonNode status = call(d, "return await window.client.status();");
        assertThat(status.get("since").asText()).isEqualTo(pending.get("editedAt").asText());
        assertThat(status.get("oldestPendingAgeMs").asLong()).isGreaterThanOrEqualTo(0);

        // unreachable: nothing can be sent within the deadline; kept sealed for the next sign-in
        JsonNode kept = call(d, "return await window.client.signOut(args[0], args[1], { deadlineMs: 1500, keep: true });",
                tenant, user.toString());
        assertThat(kept.get("kept").asInt()).as(kept.toString()).isEqualTo(1);
        assertThat(kept.get("synced").asInt()).isZero();
        assertThat(outbox(d)).hasSize(1);
        assertThat(anyContains(localStorage(d), key)).as("no plaintext key in storage").isFalse();
        assertThat(profileRow(user)).isEmpty();

        // reachable again: the next sign-out sends it before it returns
        relay.start();
        JsonNode synced = call(d, "return await window.client.signOut(args[0], args[1], { deadlineMs: 8000, keep: false });",
                tenant, user.toString());
        assertThat(synced.get("synced").asInt()).as(synced.toString()).isEqualTo(1);
        assertThat(synced.get("discarded").asInt()).isZero();
        assertThat(profileConfig(user).get("call_agent_id").asText()).isEqualTo("signed_out_offline");
        assertThat(outbox(d)).isEmpty();

        // unreachable again, discard: nothing of the user's edits stays in the browser
        relay.stop();
        call(d, "return await window.client.save(args[0], args[1], { retellApiKey: args[2] });", tenant,
                user.toString(), newKey());
        JsonNode discarded = call(d, "return await window.client.signOut(args[0], args[1], { deadlineMs: 500, keep: false });",
                tenant, user.toString());
        assertThat(discarded.get("discarded").asInt()).as(discarded.toString()).isEqualTo(1);
        assertThat(outbox(d)).isEmpty();
        assertThat(localStorage(d).keySet()).noneMatch(k -> k.contains(user.toString()) && !k.contains(":known:"));
        relay.start();
    }
}
