package dev.agentconfig.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import dev.agentconfig.docs.Docs.Block;
import dev.agentconfig.docs.Docs.Disposition;
import dev.agentconfig.docs.Docs.Doc;
import dev.agentconfig.testing.ServiceProcess;
import org.junit.jupiter.api.Test;

/**
 * The docs as a door: every {@code ```sh} block of README.md and docs/*.md runs, as written, against the
 * packaged jar started on a fresh data directory, the way a newcomer would paste it into a second
 * terminal (from the directory holding {@code data/}). The blocks of one doc run in order in one bash
 * session ({@code set -euo pipefail}), so a variable set in one block is there for the next; each
 * {@code #>} line must match a line the block printed, in order ({@code …} matches anything).
 *
 * <p>The only substitutions: the service's port for {@code http://127.0.0.1:8080}, and the environment
 * the docs say the service was started with ({@code AGENTCONFIG_AUTH_JWT_SECRET}). The README's walk
 * really stops the embedded PostgreSQL (its own pg_ctl) and starts it again.
 *
 * <p>One jar start for every doc. A failure names the doc and line: the block that failed, or the
 * {@code #>} line its output no longer matches.
 */
class DocsCheckIT {
    static final String DOCUMENTED_BASE = "http://127.0.0.1:8080";
    /** What docs/api.md says the service was started with to try user JWTs. */
    static final String JWT_SECRET = "docs-check-jwt-secret-of-at-least-32-bytes";
    private static final Pattern MARK = Pattern.compile("@@(begin|end) (\\d+)");

    @Test
    void everyShellBlockInTheDocsRunsAsWritten() throws Exception {
        List<Doc> docs = Docs.all();
        Path root = Files.createTempDirectory("acs-docs-");
        Path data = root.resolve("data");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> failures = new ArrayList<>();
        int ran = 0;
        int runnable = 0;
        long t0 = System.nanoTime();
        ServiceProcess service = new ServiceProcess(data, port, Map.of("AGENTCONFIG_AUTH_JWT_SECRET", JWT_SECRET),
                List.of()).start().awaitReady();
        System.out.printf("the jar answered after %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        try {
            for (Doc doc : docs) {
                List<Block> blocks = Docs.blocks(doc).stream()
                        .filter(b -> b.shell() && b.disposition() == Disposition.RUN).toList();
                if (blocks.isEmpty()) {
                    continue;
                }
                runnable += blocks.size();
                long started = System.nanoTime();
                ran += run(doc, blocks, root, service.baseUrl(), failures);
                System.out.printf("%s: %d blocks in %d ms%n", doc.name(), blocks.size(), (System.nanoTime() - started) / 1_000_000);
            }
        } finally {
            service.stop();
            stopLeftoverDatabase(data);
        }
        if (!failures.isEmpty()) {
            fail("stale docs (fix the doc, or the code it describes):\n" + String.join("\n\n", failures));
        }
        assertThat(ran).as("shell blocks run").isEqualTo(runnable).isPositive();
        // the docs save keys (key_TESTSECRET_…) and reveal one: none of them reached the jar's log
        assertThat(service.output()).as("the jar's log").contains("Embedded PostgreSQL started")
                .doesNotContain("key_TESTSECRET_");
        assertThat(data.resolve("pg/postmaster.pid")).as("the service stopped the database the walk restarted")
                .doesNotExist();
    }

    /** Runs the doc's blocks in one bash session; returns how many ran to their end. */
    private static int run(Doc doc, List<Block> blocks, Path cwd, String base, List<String> failures)
            throws IOException, InterruptedException {
        StringBuilder script = new StringBuilder("set -euo pipefail\n");
        for (Block b : blocks) {
            script.append("printf '\\n@@begin ").append(b.line()).append("\\n'\n");
            for (String l : b.body()) {
                script.append(l.replace(DOCUMENTED_BASE, base)).append('\n');
            }
            script.append("printf '\\n@@end ").append(b.line()).append("\\n'\n");
        }
        Path file = Files.createTempFile(cwd, "docs-", ".sh");
        Files.writeString(file, script);
        ProcessBuilder pb = new ProcessBuilder("bash", file.toString()).directory(cwd.toFile()).redirectErrorStream(true);
        pb.environment().put("AGENTCONFIG_AUTH_JWT_SECRET", JWT_SECRET);
        Process p = pb.start();
        p.getOutputStream().close();
        // read the output while it runs: a full pipe would block bash
        byte[][] holder = new byte[1][];
        Thread reader = new Thread(() -> {
            try {
                holder[0] = p.getInputStream().readAllBytes();
            } catch (IOException e) {
                holder[0] = ("(output not readable: " + e + ")").getBytes(StandardCharsets.UTF_8);
            }
        });
        reader.start();
        boolean finished = p.waitFor(180, TimeUnit.SECONDS);
        if (!finished) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        reader.join(10_000);
        Files.deleteIfExists(file);
        List<String> output = holder[0] == null ? List.of()
                : List.of(new String(holder[0], StandardCharsets.UTF_8).split("\n", -1));
        return compare(doc, blocks, output, finished ? Optional.of(p.exitValue()) : Optional.empty(), failures);
    }

    private static int compare(Doc doc, List<Block> blocks, List<String> output, Optional<Integer> exit,
                               List<String> failures) {
        int ran = 0;
        for (Block b : blocks) {
            int begin = indexOf(output, "begin", b.line());
            int end = indexOf(output, "end", b.line());
            if (begin < 0) {
                failures.add(b.at() + ": this block did not run (an earlier block of " + doc.name() + " failed)");
                continue;
            }
            List<String> printed = output.subList(begin + 1, end < 0 ? output.size() : end);
            if (end < 0) {
                failures.add(b.at() + ": this block failed ("
                        + exit.map(e -> "bash exit " + e).orElse("timed out after 180 s") + "); it printed:\n"
                        + show(printed));
                continue;
            }
            ran++;
            int cursor = 0;
            for (int i = 0; i < b.body().size(); i++) {
                String l = b.body().get(i);
                if (!l.startsWith("#>")) {
                    continue;
                }
                String expected = l.substring(2).strip();
                Pattern want = pattern(expected);
                int found = -1;
                for (int j = cursor; j < printed.size(); j++) {
                    if (want.matcher(printed.get(j).strip()).matches()) {
                        found = j;
                        break;
                    }
                }
                if (found < 0) {
                    failures.add(doc.at(b.lineOf(i)) + ": expected " + Docs.redact(expected)
                            + "\n  but the block at " + b.at() + " printed (from the previous match on):\n"
                            + show(printed.subList(Math.min(cursor, printed.size()), printed.size())));
                    break;
                }
                cursor = found + 1;
            }
        }
        return ran;
    }

    /** An expected line: literal, with … matching anything. */
    static Pattern pattern(String expected) {
        StringBuilder regex = new StringBuilder();
        String[] parts = expected.split("…", -1);
        for (int i = 0; i < parts.length; i++) {
            if (i > 0) {
                regex.append(".*");
            }
            regex.append(Pattern.quote(parts[i]));
        }
        return Pattern.compile(regex.toString(), Pattern.DOTALL);
    }

    private static int indexOf(List<String> output, String kind, int line) {
        for (int i = 0; i < output.size(); i++) {
            var m = MARK.matcher(output.get(i).strip());
            if (m.matches() && m.group(1).equals(kind) && Integer.parseInt(m.group(2)) == line) {
                return i;
            }
        }
        return -1;
    }

    private static String show(List<String> lines) {
        List<String> shown = lines.stream().filter(l -> !l.isBlank()).limit(40).map(l -> "    | " + l).toList();
        return Docs.redact(shown.isEmpty() ? "    (nothing)" : String.join("\n", shown));
    }

    /**
     * If the service could not stop the database the walk restarted, that server is ours to stop (it
     * is a child of this test's bash session, started with pg_ctl on this temp data dir).
     */
    private static void stopLeftoverDatabase(Path data) throws IOException {
        Path pid = data.resolve("pg/postmaster.pid");
        if (!Files.exists(pid)) {
            return;
        }
        String first = Files.readAllLines(pid).stream().findFirst().orElse("").trim();
        if (first.matches("\\d+")) {
            ProcessHandle.of(Long.parseLong(first)).ifPresent(ProcessHandle::destroy);
        }
    }
}
