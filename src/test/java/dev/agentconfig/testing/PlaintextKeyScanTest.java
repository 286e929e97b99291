package dev.agentconfig.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CI's last check ({@code .ci/run} calls {@code .ci/no-plaintext-key}) can fail: a key planted in a
 * file below a scanned directory fails it, and it scans where the started jars' logs go.
 */
class PlaintextKeyScanTest {
    private static final Path SCAN = Path.of(".ci", "no-plaintext-key").toAbsolutePath();

    @Test
    void aPlantedKeyFailsTheScanAndNamesTheFile(@TempDir Path dir) throws Exception {
        Path clean = Files.writeString(dir.resolve("clean.log"), "Save of acme/u: 200 saved, key_…9f2a\n");
        Path nested = Files.createDirectories(dir.resolve("a").resolve("b"));
        // only in the temporary file: the key is never printed (the scan names files, not lines)
        Path planted = Files.writeString(nested.resolve("service.log"),
                "INFO save - body {\"retellApiKey\":\"" + ServiceTestSupport.KEY_PREFIX + "plant\"}\n");

        Result found = scan(dir.resolve("missing"), dir);

        assertThat(found.exit()).as(found.output()).isEqualTo(1);
        assertThat(found.output()).contains(planted.toString()).doesNotContain(clean.toString())
                .contains("FAIL: a plaintext test API key");

        Files.delete(planted);
        Result none = scan(dir.resolve("missing"), dir);
        assertThat(none.exit()).as(none.output()).isZero();
        assertThat(none.output()).isEmpty();
    }

    @Test
    void ciScansTheReportsAndEveryStartedJarsLog() throws IOException {
        assertThat(ServiceProcess.LOG_DIR).isEqualTo(Path.of("target", "process-logs").toAbsolutePath());
        String call = Files.readString(Path.of(".ci", "run")).lines()
                .filter(l -> l.startsWith(".ci/no-plaintext-key ")).findFirst().orElse("");
        assertThat(List.of(call.split(" "))).as(".ci/run's scan").contains("target/surefire-reports",
                "target/failsafe-reports", "target/process-logs");
    }

    private record Result(int exit, String output) {
    }

    private static Result scan(Path... dirs) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", SCAN.toString()));
        for (Path d : dirs) {
            cmd.add(d.toString());
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }
}
