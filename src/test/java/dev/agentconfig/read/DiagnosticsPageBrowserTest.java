package dev.agentconfig.read;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.crypto.FieldCipher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The diagnostic page in a real browser: Debian's headless Chromium driven by its chromedriver
 * (installed by .ci/run). A person opens /diagnostics, types tenant, user and token, and reads
 * the checks (failing ones highlighted) and what each location holds.
 */
class DiagnosticsPageBrowserTest extends ReadTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(DiagnosticsPageBrowserTest.class);
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    /** The page's highlight for a failing check (CSS --fail-bg #fde2e1). */
    private static final String FAIL_BACKGROUND = "rgba(253, 226, 225, 1)";

    private WebDriver browser;
    private ChromeDriverService driverService;
    private Path profileDir;

    @BeforeAll
    void openBrowser() throws IOException {
        assertThat(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER))
                .as("this test needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
                .isTrue();
        // explicit binaries: Selenium Manager must not look for (or download) anything
        System.setProperty("SE_OFFLINE", "true");
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        profileDir = Files.createTempDirectory("acs-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profileDir);
        driverService = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER.toString()))
                .usingAnyFreePort()
                .build();
        long t0 = System.nanoTime();
        browser = new ChromeDriver(driverService, options);
        LOG.info("FIGURE headless Chromium started in {} ms", (System.nanoTime() - t0) / 1_000_000);
    }

    @AfterAll
    void closeBrowser() {
        if (browser != null) {
            browser.quit();
        }
        if (driverService != null) {
            driverService.stop();
        }
        if (profileDir != null) {
            try (Stream<Path> files = Files.walk(profileDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * The backlog drains while a person watches: 200 saves parked during an outage, the database back but
     * slow (a trigger sleeps 20 ms per profile row), batches of 10. Health's backlog check reports the
     * drain's progress (drained, pending, rate, ETA) and the page shows it as a progress bar, then hides it
     * when everything is in both tables.
     */
    @Test
    void theBacklogDrainsUnderAProgressBar() {
        int saves = 200;
        String tenant = newTenant();
        List<UUID> users = new java.util.ArrayList<>();
        execute("CREATE OR REPLACE FUNCTION public.test_slow_down() RETURNS trigger LANGUAGE plpgsql AS "
                + "$$ BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END $$");
        execute("CREATE TRIGGER test_slow_down BEFORE INSERT OR UPDATE ON public.user_profiles "
                + "FOR EACH ROW EXECUTE FUNCTION public.test_slow_down()");
        try {
            stopDatabase();
            for (int i = 0; i < saves; i++) {
                UUID user = newUser();
                users.add(user);
                assertThat(put(tenant, user, "{\"callAgentId\":\"c_" + i + "\"}").statusCode()).isEqualTo(202);
            }
            browser.get(baseUrl() + "/diagnostics");
            WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(15));
            wait.until(d -> d.findElement(By.id("backlog")).getText().contains(" save(s) waiting"));
            assertThat(browser.findElement(By.id("backlog")).getText()).matches("(?s).*Service backlog: \\d+ save\\(s\\).*");
            assertThat(browser.findElement(By.id("drain")).isDisplayed()).isFalse();

            startDatabase();
            // health: a drain in progress, with its rate and the time left
            JsonNode[] seen = new JsonNode[1];
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
                    .until(() -> {
                        JsonNode drain = json(get("/observe/health", null)).get("checks").get("backlog").get("drain");
                        seen[0] = drain;
                        return drain != null && !drain.isNull() && drain.get("drained").asLong() > 0
                                && drain.get("pending").asLong() > 0 && !drain.get("drainedPerSecond").isNull();
                    });
            assertThat(seen[0].get("drainedPerSecond").asDouble()).isPositive();
            assertThat(seen[0].get("etaSeconds").asLong()).isNotNegative();
            assertThat(seen[0].get("percent").asInt()).isBetween(0, 99);
            // the page: the bar part-way, the rate and the time left in words
            wait.until(d -> d.findElement(By.id("drain")).isDisplayed()
                    && d.findElement(By.id("drain-text")).getText().contains("/s, about"));
            int value = Integer.parseInt(browser.findElement(By.id("drain-bar")).getAttribute("value"));
            String text = browser.findElement(By.id("drain-text")).getText();
            LOG.info("FIGURE drain progress seen in the page: {} ({} %)", text, value);
            assertThat(value).isBetween(0, 100);
            assertThat(text).matches("Draining into the database: \\d+ of \\d+ \\(\\d+ %\\), [0-9.]+/s, about \\d+ s left");

            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> users.stream().allMatch(u -> localEntry(tenant, u).isEmpty()));
            for (UUID user : users) {
                assertThat(profileRow(user)).as("profile of %s", user).isPresent();
                assertThat(settingsRow(user)).as("settings of %s", user).isPresent();
            }
            wait.until(d -> !d.findElement(By.id("drain")).isDisplayed());
            assertThat(json(get("/observe/health", null)).get("checks").get("backlog").get("drain").isNull()).isTrue();
            assertThat(logs.text()).containsPattern("Sync: drained \\d+ entries in");
        } finally {
            execute("DROP TRIGGER IF EXISTS test_slow_down ON public.user_profiles");
        }
    }

    @Override
    protected java.util.Properties extraProperties() {
        java.util.Properties p = super.extraProperties();
        // small batches: the drain of theBacklogDrainsUnderAProgressBar takes a few seconds to watch
        p.setProperty("agentconfig.sync.batch-size", "10");
        p.setProperty("agentconfig.sync.parallelism", "1");
        return p;
    }

    @Test
    void aPersonDiagnosesALegacyUserAndSeesTheFailingChecksHighlighted() {
        String tenant = newTenant();
        UUID user = newUser();
        String plaintext = newKey();
        // the seed's way: the key in plaintext inside retell_config, agent ids only in user_settings
        update("INSERT INTO public.user_settings (user_id, tenant_id, retell_config, updated_at) "
                        + "VALUES (?, ?, jsonb_build_object('api_key', CAST(? AS text), 'call_agent_id', 'call_legacy', "
                        + "'sms_agent_id', 'sms_legacy'), now())",
                user, tenant, plaintext);

        browser.get(baseUrl() + "/diagnostics");
        assertThat(browser.getTitle()).contains("diagnostics");
        browser.findElement(By.id("tenant")).sendKeys(tenant);
        browser.findElement(By.id("user")).sendKeys(user.toString());
        browser.findElement(By.id("token")).sendKeys(serviceToken);
        long t0 = System.nanoTime();
        browser.findElement(By.id("check")).click();

        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(15));
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("result")));
        LOG.info("FIGURE diagnostics page: click to rendered table {} ms", (System.nanoTime() - t0) / 1_000_000);

        Map<String, WebElement> checks = new LinkedHashMap<>();
        for (WebElement row : browser.findElements(By.cssSelector("#checks tbody tr"))) {
            checks.put(row.getAttribute("data-check"), row);
        }
        assertThat(checks).hasSize(7);
        List<String> failing = checks.entrySet().stream()
                .filter(e -> e.getValue().getAttribute("class").contains("fail")).map(Map.Entry::getKey).toList();
        assertThat(failing).containsExactlyInAnyOrder("in-user-profiles", "no-plaintext-key");
        for (Map.Entry<String, WebElement> e : checks.entrySet()) {
            WebElement result = e.getValue().findElement(By.cssSelector("td.result"));
            String background = e.getValue().findElement(By.cssSelector("td")).getCssValue("background-color");
            if (failing.contains(e.getKey())) {
                assertThat(result.getText()).as(e.getKey()).isEqualTo("Fail");
                assertThat(background).as("highlight of %s", e.getKey()).isEqualTo(FAIL_BACKGROUND);
            } else {
                assertThat(result.getText()).as(e.getKey()).isEqualTo("Pass");
                assertThat(background).as("no highlight on %s", e.getKey()).isNotEqualTo(FAIL_BACKGROUND);
            }
        }
        assertThat(checks.get("no-plaintext-key").findElement(By.cssSelector("td.detail")).getText())
                .contains("plaintext key", "next save");
        assertThat(checks.get("in-user-profiles").findElement(By.cssSelector("td.detail")).getText())
                .contains("no row");
        assertThat(browser.findElement(By.id("summary")).getText()).isEqualTo("2 of 7 checks fail.");

        // what each location holds: the legacy key masked and marked, the merged values and their source
        WebElement keyRow = browser.findElement(By.cssSelector("#locations tr[data-field='retellApiKey']"));
        List<WebElement> cells = keyRow.findElements(By.cssSelector("td"));
        assertThat(cells.get(0).getText()).isEqualTo("—"); // user_profiles
        assertThat(cells.get(1).getText()).contains(FieldCipher.mask(plaintext), "legacy plaintext");
        assertThat(cells.get(1).getAttribute("class")).contains("bad", "winner");
        assertThat(cells.get(2).getText()).isEqualTo("—"); // local_store
        assertThat(cells.get(3).getText()).contains(FieldCipher.mask(plaintext), "from user_settings");
        WebElement callRow = browser.findElement(By.cssSelector("#locations tr[data-field='callAgentId']"));
        assertThat(callRow.findElements(By.cssSelector("td")).get(3).getText()).contains("call_legacy",
                "from user_settings");
        assertThat(browser.findElement(By.cssSelector("#locations tr.location-status")).getText())
                .contains("nothing for this user", "holds a row");
        // where saves the database cannot take would wait (agentconfig.parking, local here)
        assertThat(browser.findElement(By.id("parking")).getText())
                .isEqualTo("Local: saves the database cannot take wait in this server's local store.");
        // the page shows neither the plaintext key nor the token it was given
        String page = browser.findElement(By.tagName("body")).getText();
        assertThat(page.contains(plaintext)).as("plaintext key on the page").isFalse();
        assertThat(page).doesNotContain(serviceToken);
    }

    @Test
    void aPersonSeesTheQuarantineWithItsFailuresAndResubmitsAnEntry() {
        String tenant = newTenant();
        UUID user = newUser();
        String key = newKey();
        execute("ALTER TABLE public.user_profiles ADD CONSTRAINT test_refuse_page CHECK "
                + "(encrypted_agent_config ->> 'call_agent_id' IS DISTINCT FROM 'refused_on_page')");
        try {
            var r = put(tenant, user, "{\"retellApiKey\":\"" + key + "\",\"callAgentId\":\"refused_on_page\"}");
            assertThat(json(r).get("status").asText()).as(r.body()).isEqualTo("quarantined");
        } finally {
            execute("ALTER TABLE public.user_profiles DROP CONSTRAINT test_refuse_page");
        }

        browser.get(baseUrl() + "/diagnostics");
        browser.findElement(By.id("token")).sendKeys(serviceToken);
        browser.findElement(By.id("quarantine-show")).click();
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(15));
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("quarantine-list")));
        WebElement row = browser.findElements(By.cssSelector("#quarantine-list tbody tr")).stream()
                .filter(tr -> tr.getText().contains(user.toString())).findFirst().orElseThrow();
        List<WebElement> cells = row.findElements(By.cssSelector("td"));
        assertThat(cells.get(0).getText()).isEqualTo(tenant + " / " + user);
        assertThat(cells.get(2).getText()).startsWith("1 ");
        assertThat(cells.get(3).getText()).contains("rejected 23514", "test_refuse_page");
        assertThat(cells.get(4).getText()).contains("callAgentId = refused_on_page", FieldCipher.mask(key));
        assertThat(browser.findElement(By.tagName("body")).getText().contains(key)).as("plaintext key on the page")
                .isFalse();

        cells.get(5).findElement(By.tagName("button")).click();
        wait.until(x -> cells.get(5).getText().equals("resubmitted"));
        assertThat(localEntry(tenant, user).orElseThrow().get("state").asText()).isEqualTo("pending");
    }

    @Test
    void aWrongTokenShowsTheProblemInsteadOfATable() {
        browser.get(baseUrl() + "/diagnostics");
        browser.findElement(By.id("tenant")).sendKeys("acme");
        browser.findElement(By.id("user")).sendKeys(UUID.randomUUID().toString());
        browser.findElement(By.id("token")).sendKeys("not-the-token");
        browser.findElement(By.id("check")).click();

        WebElement error = new WebDriverWait(browser, Duration.ofSeconds(15))
                .until(ExpectedConditions.visibilityOfElementLocated(By.id("error")));
        assertThat(error.getText()).contains("401", "bearer token is not valid");
        assertThat(browser.findElement(By.id("result")).isDisplayed()).isFalse();
    }
}
