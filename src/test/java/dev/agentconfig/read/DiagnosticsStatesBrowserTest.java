package dev.agentconfig.read;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Stream;

import dev.agentconfig.crypto.FieldCipher;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Issue 21: the diagnostics page says what is wrong in one line, first, in four states a person meets
 * (healthy, the database down, a backlog draining, a key that no longer opens), looked at in headless
 * Chromium. One cause is said once, checks that could not run say "not checked", no pool internals.
 * Screenshots go to target/diagnostics-screenshots, or to -Dagentconfig.screenshots=docs/diagnostics.
 */
class DiagnosticsStatesBrowserTest extends ReadTestSupport {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    private WebDriver browser;
    private ChromeDriverService driverService;
    private Path profileDir;

    @Override
    protected Properties extraProperties() {
        Properties p = super.extraProperties();
        p.setProperty("agentconfig.sync.batch-size", "5");
        p.setProperty("agentconfig.sync.parallelism", "1");
        return p;
    }

    @BeforeAll
    void openBrowser() throws IOException {
        assertThat(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER))
                .as("this test needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
                .isTrue();
        System.setProperty("SE_OFFLINE", "true");
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        profileDir = Files.createTempDirectory("acs-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profileDir);
        driverService = new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER.toString()))
                .usingAnyFreePort().build();
        browser = new ChromeDriver(driverService, options);
        browser.manage().window().setSize(new Dimension(1100, 1000));
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

    @BeforeEach
    void databaseUp() {
        if (!embedded().running()) {
            startDatabase();
        }
        resetBreakers();
    }

    @Test
    void healthy() throws IOException {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"retellApiKey\":\"" + newKey() + "\",\"callAgentId\":\"call_1\","
                + "\"smsAgentId\":\"sms_1\"}").statusCode()).isEqualTo(200);

        String headline = diagnose(tenant, user, "ok");

        assertThat(headline).startsWith("Everything is in order");
        // labels are words, not constants
        assertThat(browser.findElement(By.cssSelector("#locations tr[data-field='retellApiKey'] th")).getText())
                .isEqualTo("Retell API key");
        assertThat(browser.findElement(By.cssSelector("#checks tr[data-check='locations-agree'] td.result")).getText())
                .isEqualTo("Pass");
        screenshot("healthy");
    }

    @Test
    void theDatabaseDown() throws IOException {
        String tenant = newTenant();
        UUID user = newUser();
        assertThat(put(tenant, user, "{\"callAgentId\":\"call_1\"}").statusCode()).isEqualTo(200);
        stopDatabase();
        try {
            assertThat(put(tenant, user, "{\"smsAgentId\":\"sms_outage\"}").statusCode()).isEqualTo(202);

            String headline = diagnose(tenant, user, "database-unreachable");

            // before: no such line; the raw pool text in 7 places, "5 of 7 checks fail", PASS for what could not run
            assertThat(headline).matches("The database is unreachable since .+ \\((connection refused at [^ ]+:\\d+"
                    + "|not asked until a probe finds it back)\\)\\. Saves are kept on this server \\(\\d+ waiting\\) and will "
                    + "be written when it returns\\.");
            String page = browser.findElement(By.tagName("body")).getText();
            assertThat(page).doesNotContain("Connection is not available", "total=", "waiting=", "RETELLAPIKEY");
            assertThat(browser.findElement(By.cssSelector("#checks tr[data-check='locations-agree'] td.result")).getText())
                    .isEqualTo("Not checked");
            assertThat(browser.findElement(By.cssSelector("#checks tr[data-check='in-user-profiles'] td.result")).getText())
                    .isEqualTo("Not checked");
            assertThat(browser.findElements(By.cssSelector("#checks tr.fail"))).hasSize(2); // pending, unreadable
            // the last-known copy answers the field the tables cannot show
            assertThat(browser.findElement(By.cssSelector("#locations tr[data-field='callAgentId']")).getText())
                    .contains("call_1", "from the last-known copy", "as of");
            // times are relative, never a next attempt in the past
            assertThat(browser.findElement(By.id("sync")).getText()).containsPattern("next attempt (in \\d+ s|due now)");
            screenshot("database-down");
        } finally {
            startDatabase();
        }
    }

    @Test
    void draining() throws IOException {
        String tenant = newTenant();
        UUID user = newUser();
        execute("CREATE OR REPLACE FUNCTION public.test_slow_down() RETURNS trigger LANGUAGE plpgsql AS "
                + "$$ BEGIN PERFORM pg_sleep(0.05); RETURN NEW; END $$");
        execute("CREATE TRIGGER test_slow_down BEFORE INSERT OR UPDATE ON public.user_profiles "
                + "FOR EACH ROW EXECUTE FUNCTION public.test_slow_down()");
        try {
            stopDatabase();
            assertThat(put(tenant, user, "{\"callAgentId\":\"call_1\"}").statusCode()).isEqualTo(202);
            for (int i = 0; i < 60; i++) {
                assertThat(put(tenant, newUser(), "{\"callAgentId\":\"c_" + i + "\"}").statusCode()).isEqualTo(202);
            }
            startDatabase();
            browser.get(baseUrl() + "/diagnostics");
            new WebDriverWait(browser, Duration.ofSeconds(20)).until(d -> d.findElement(By.id("drain")).isDisplayed()
                    && d.findElement(By.id("drain-text")).getText().contains("/s, about"));
            fill(tenant, user);
            String headline = waitForHeadline();
            assertThat(headline).satisfiesAnyOf(h -> assertThat(h).startsWith("The database answers; a save of this user waits"),
                    h -> assertThat(h).startsWith("Everything is in order"));
            screenshot("draining");
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> localEntry(tenant, user).isEmpty());
        } finally {
            execute("DROP TRIGGER IF EXISTS test_slow_down ON public.user_profiles");
        }
    }

    @Test
    void aKeyThatNoLongerOpens() throws IOException {
        String tenant = newTenant();
        UUID user = newUser();
        // sealed with an encryption key this service does not have (lost, or retired and deleted)
        String lost = new FieldCipher(randomBytes(32)).seal(newKey(), tenant + ":" + user + ":retellApiKey");
        insertProfile(tenant, user, lost, "{\"call_agent_id\":\"call_1\"}", "{\"retellApiKey\":1,\"callAgentId\":1}");

        String headline = diagnose(tenant, user, "key-lost");

        assertThat(headline).startsWith("This user's API key cannot be decrypted").contains("enter it again");
        screenshot("key-lost");
    }

    // ----- helpers -----------------------------------------------------------------------------

    private String diagnose(String tenant, UUID user, String state) {
        browser.get(baseUrl() + "/diagnostics");
        fill(tenant, user);
        String headline = waitForHeadline();
        assertThat(browser.findElement(By.id("headline")).getAttribute("data-state")).as(headline).isEqualTo(state);
        // the one line comes first: above the checks
        assertThat(browser.findElement(By.id("headline")).getLocation().getY())
                .isLessThan(browser.findElement(By.id("checks")).getLocation().getY());
        return headline;
    }

    private void fill(String tenant, UUID user) {
        browser.findElement(By.id("tenant")).clear();
        browser.findElement(By.id("tenant")).sendKeys(tenant);
        browser.findElement(By.id("user")).clear();
        browser.findElement(By.id("user")).sendKeys(user.toString());
        browser.findElement(By.id("token")).clear();
        browser.findElement(By.id("token")).sendKeys(serviceToken);
        browser.findElement(By.id("check")).click();
    }

    private String waitForHeadline() {
        return new WebDriverWait(browser, Duration.ofSeconds(15)).until(d -> {
            String t = d.findElement(By.id("result")).isDisplayed() ? d.findElement(By.id("headline")).getText() : "";
            return t.isEmpty() ? null : t;
        });
    }

    private void screenshot(String name) throws IOException {
        Path dir = Path.of(System.getProperty("agentconfig.screenshots", "target/diagnostics-screenshots"));
        Files.createDirectories(dir);
        byte[] png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
        Files.write(dir.resolve(name + ".png"), png);
    }
}
