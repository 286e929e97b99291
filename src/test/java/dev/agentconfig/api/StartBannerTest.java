package dev.agentconfig.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import dev.agentconfig.AppConfiguration;
import dev.agentconfig.db.EmbeddedDatabase;
import dev.agentconfig.testing.LogCapture;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.Test;

/**
 * Issue 21: the banner a person starting the service sees is the last thing of the start (after Camel's
 * "Started <route>" lines, which buried it), with the address the server listens on (127.0.0.1 by default),
 * and no endpoint list says 0.0.0.0.
 */
class StartBannerTest {
    private static final String UP = "agent-config-sync is up on";

    @Test
    void theBannerComesLastWithTheAddressTheServerListensOn() throws Exception {
        Path data = Files.createTempDirectory("acs-banner-").resolve("data");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        LogCapture logs = LogCapture.attach();
        AtomicInteger logLinesAtBanner = new AtomicInteger(-1);
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream original = System.out;
        // what the service prints to stdout, and how many log lines there were when the banner came
        System.setOut(new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                printed.write(b);
                original.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                printed.write(b, off, len);
                original.write(b, off, len);
                if (new String(b, off, len, StandardCharsets.UTF_8).contains(UP)) {
                    logLinesAtBanner.compareAndSet(-1, logs.lines().size());
                }
            }
        }, true, StandardCharsets.UTF_8));
        Main main = new Main();
        try {
            Properties p = new Properties();
            p.setProperty("agentconfig.data-dir", data.toString());
            p.setProperty("agentconfig.http.port", String.valueOf(port));
            p.setProperty("agentconfig.auth.service-token", "svc_" + UUID.randomUUID());
            p.setProperty("agentconfig.sync.initial-delay", "60m");
            // as Application does
            main.configure().addConfiguration(AppConfiguration.class);
            main.addMainListener(StartBanner.listener());
            main.setOverrideProperties(p);
            // run(), as Application: its listeners' afterStart comes once the start is over
            Thread runner = new Thread(() -> {
                try {
                    main.run();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "banner-test-main");
            runner.start();
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(50))
                    .until(() -> logLinesAtBanner.get() >= 0 || !runner.isAlive());
            String out = printed.toString(StandardCharsets.UTF_8);
            assertThat(out).contains(UP + " http://127.0.0.1:" + port + "\n")
                    .contains("http://127.0.0.1:" + port + "/observe/health")
                    .contains("http://127.0.0.1:" + port + "/client/agent-config.js");
            assertThat(logLinesAtBanner.get()).as("the banner was printed").isNotNegative();
            List<String> lines = logs.lines();
            List<String> after = lines.subList(logLinesAtBanner.get(), lines.size());
            // before: the banner came while the routes started; every "Started <route>" line followed it
            assertThat(lines).as("the routes started").anyMatch(l -> l.contains("    Started "));
            assertThat(after).as("lines after the banner").noneMatch(l -> l.contains("    Started ")
                    || l.contains(" started in ") || l.contains("HTTP endpoints summary"));
            // before: Camel's endpoint summary listed http://0.0.0.0:<port>/... while the server listened on 127.0.0.1
            assertThat(String.join("\n", lines)).doesNotContain("0.0.0.0:" + port);
            assertThat(out).doesNotContain("0.0.0.0");
        } finally {
            System.setOut(original);
            main.completed();
            main.stop();
            EmbeddedDatabase.stopAll();
            logs.detach();
        }
    }
}
