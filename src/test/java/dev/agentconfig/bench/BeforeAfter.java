package dev.agentconfig.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import dev.agentconfig.testing.ServiceProcess;

/**
 * Issue 20's before/after table: HTTP PUT saves at each concurrency against two packaged jars, the commit the
 * issue measured (main at {@link #BEFORE}) and HEAD, alternated (before, after, then after, before), each in a
 * fresh directory with its own embedded PostgreSQL and the same settings (pool 16, the HTTP rate limits out of
 * the load's way); beside each HTTP run, on the same database, the naive client (the service's two statements
 * in autocommit). Each jar is built once from its commit in a temporary git worktree
 * ({@code mvn -B -o -q -DskipTests package}) and cached under target/bench-jars/&lt;commit&gt;.jar. Without git or
 * the old commit (a source tarball) the table says so instead.
 */
final class BeforeAfter {
    static final String BEFORE = System.getProperty("bench.before", "cbbc2a7");
    private static final int USERS = 1000;
    private static final Path JARS = Path.of("target", "bench-jars");

    private final int[] clients;
    private final double seconds;
    private final int rounds;
    private final HttpClient http;
    private final String profileSql;
    private final String settingsSql;
    private final String token = "bench-" + UUID.randomUUID();
    private final AtomicLong version = new AtomicLong(System.currentTimeMillis() * 1000);
    /** label -> clients -> results of its rounds (HTTP PUT, naive client). */
    private final Map<String, Map<Integer, List<Load.Result[]>>> runs = new LinkedHashMap<>();
    private final List<String> notes = new ArrayList<>();

    BeforeAfter(int[] clients, double seconds, int rounds, HttpClient http, String profileSql, String settingsSql) {
        this.clients = clients;
        this.seconds = seconds;
        this.rounds = rounds;
        this.http = http;
        this.profileSql = profileSql;
        this.settingsSql = settingsSql;
    }

    /** The section for docs/benchmarks.md (its heading included). */
    String section() throws Exception {
        StringBuilder sb = new StringBuilder("## HTTP saves before and after issue 20 (durable)\n\n");
        String head;
        Path before;
        Path after;
        try {
            head = git("rev-parse", "--short=7", "HEAD").trim();
            String dirty = git("status", "--porcelain", "--", "src", "pom.xml", "config", "routes").trim();
            if (!dirty.isEmpty()) {
                notes.add("the working tree has uncommitted changes under src/, config/ or routes/: \"after\" is "
                        + "HEAD's commit without them");
            }
            before = jarOf(git("rev-parse", BEFORE + "^{commit}").trim());
            after = jarOf(git("rev-parse", "HEAD").trim());
        } catch (IOException | RuntimeException e) {
            return sb.append("Not measured in this run: the jars of main at ").append(BEFORE).append(" and of HEAD ")
                    .append("are built from git (a worktree of each commit), and this tree has no git history or ")
                    .append("not that commit (").append(oneLine(e)).append(").\n").toString();
        }
        for (int round = 0; round < rounds; round++) {
            boolean beforeFirst = round % 2 == 0;
            measure(beforeFirst ? "before" : "after", beforeFirst ? before : after);
            measure(beforeFirst ? "after" : "before", beforeFirst ? after : before);
        }
        sb.append("HTTP PUT through the packaged jar of each commit: \"before\" is main at ").append(BEFORE)
                .append(" (the measurement in issue 20), \"after\" is HEAD (").append(head).append("). Each jar runs ")
                .append("in a fresh directory with its own embedded PostgreSQL (durable), pool 16, the HTTP rate limits ")
                .append("raised; the two are alternated (before, after, after, before, ...), ").append(rounds)
                .append(" runs each, every run a warm-up then ").append(String.format(Locale.ROOT, "%.0f", seconds))
                .append(" s per concurrency with the suite's HTTP client (Java HttpClient, keep-alive) to ").append(USERS)
                .append(" users with fresh agent ids. Beside each HTTP run the naive client (the service's two statements ")
                .append("in autocommit, one connection per client) on the same database. Figures are the runs' values, ")
                .append("the ratio is HTTP PUT over the naive client of the same run. Read that ratio, not the last ")
                .append("column: the naive client itself moves between runs on this shared machine, and HEAD does per save ")
                .append("what the before commit did not (the Idempotency-Key row in the save's transaction, the receipt ")
                .append("and field history written by the trigger, the last-known copy on disk, the trace context), ")
                .append("so after / before mixes the write path's change with those features' cost.\n\n");
        sb.append("| clients | before: HTTP PUT saves/s | p50 / p99 ms | naive client | ratio | after: HTTP PUT saves/s ")
                .append("| p50 / p99 ms | naive client | ratio | after / before |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (int c : clients) {
            List<Load.Result[]> b = runs.getOrDefault("before", Map.of()).getOrDefault(c, List.of());
            List<Load.Result[]> a = runs.getOrDefault("after", Map.of()).getOrDefault(c, List.of());
            sb.append("| ").append(c).append(" | ").append(cells(b)).append(" | ").append(cells(a)).append(" | ")
                    .append(String.format(Locale.ROOT, "%.2f", mean(a, 0) / mean(b, 0))).append("× |\n");
        }
        sb.append('\n');
        for (String n : notes) {
            sb.append("- ").append(n).append('\n');
        }
        return sb.toString();
    }

    /** throughput put/naive per run, "a, b"; p50/p99; naive; ratio. */
    private static String cells(List<Load.Result[]> rs) {
        List<String> tp = new ArrayList<>();
        List<String> lat = new ArrayList<>();
        List<String> naive = new ArrayList<>();
        List<String> ratio = new ArrayList<>();
        for (Load.Result[] r : rs) {
            tp.add(String.format(Locale.ROOT, "%,.0f", r[0].throughput()));
            lat.add(String.format(Locale.ROOT, "%.2f / %.1f", r[0].percentileMs(50), r[0].percentileMs(99)));
            naive.add(r[1] == null ? "–" : String.format(Locale.ROOT, "%,.0f", r[1].throughput()));
            ratio.add(r[1] == null ? "–" : String.format(Locale.ROOT, "%.2f", r[0].throughput() / r[1].throughput()));
        }
        return String.join(", ", tp) + " | " + String.join("; ", lat) + " | " + String.join(", ", naive) + " | "
                + String.join(", ", ratio);
    }

    private static double mean(List<Load.Result[]> rs, int i) {
        return rs.stream().mapToDouble(r -> r[i].throughput()).average().orElse(Double.NaN);
    }

    /** One run of one jar: start, warm up, HTTP PUT and the naive client at each concurrency, stop. */
    private void measure(String label, Path jar) throws Exception {
        Path dir = Files.createTempDirectory("acs-bench-" + label + "-");
        int port = freePort();
        Map<String, String> env = Map.of(
                "AGENTCONFIG_AUTH_SERVICE_TOKEN", token,
                "AGENTCONFIG_DB_POOL_SIZE", "16",
                "AGENTCONFIG_HTTP_RATE_PER_USER", "100000000",
                "AGENTCONFIG_HTTP_RATE_PER_ADDRESS", "100000000",
                "AGENTCONFIG_HTTP_RATE_PER_SERVICE", "100000000");
        List<UUID> users = new ArrayList<>();
        for (int i = 0; i < USERS; i++) {
            users.add(UUID.randomUUID());
        }
        ServiceProcess service = new ServiceProcess(dir.resolve("data"), port, env, List.of()).withJar(jar);
        try {
            service.start().awaitReady();
            String base = service.baseUrl();
            for (int w = 0; w < 2; w++) {
                Load.run(8, seconds, seq -> put(base, users.get((int) (seq % USERS)), seq));
            }
            List<Connection> connections = Collections.synchronizedList(new ArrayList<>());
            ThreadLocal<Connection> connection = ThreadLocal.withInitial(() -> {
                try {
                    Connection c = service.connectDatabase();
                    connections.add(c);
                    return c;
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            List<UUID> naiveUsers = new ArrayList<>();
            for (int i = 0; i < USERS; i++) {
                naiveUsers.add(UUID.randomUUID());
            }
            boolean naiveWorks = true;
            for (int c : clients) {
                Load.Result put = Load.run(c, seconds, seq -> put(base, users.get((int) (seq % USERS)), seq));
                Load.Result naive = null;
                if (naiveWorks) {
                    naive = Load.run(c, seconds, seq -> naive(connection.get(), naiveUsers.get((int) (seq % USERS)), seq));
                    if (naive.errors() > 0 && naive.operations() == 0) {
                        notes.add("the naive client's statements fail on the " + label + " jar's schema: no naive figure for it");
                        naiveWorks = false;
                        naive = null;
                    }
                }
                if (put.errors() > 0) {
                    notes.add(String.format(Locale.ROOT, "%s, %d clients: %d saves failed (not 200/202)", label, c, put.errors()));
                }
                runs.computeIfAbsent(label, k -> new LinkedHashMap<>()).computeIfAbsent(c, k -> new ArrayList<>())
                        .add(new Load.Result[] {put, naive});
                System.out.printf(Locale.ROOT, "BENCH before/after %s clients=%d put=%.0f/s p50=%.2f naive=%s%n", label, c,
                        put.throughput(), put.percentileMs(50), naive == null ? "-" : String.format(Locale.ROOT, "%.0f", naive.throughput()));
            }
            for (Connection c : connections) {
                c.close();
            }
        } finally {
            service.close();
        }
    }

    private void put(String base, UUID user, long seq) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/agent-config/bench/" + user))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"c" + seq + "\",\"smsAgentId\":\"s" + seq + "\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200 && r.statusCode() != 202) {
            throw new IllegalStateException(r.statusCode() + " " + r.body());
        }
    }

    /** The service's two statements in autocommit, as BenchmarkSuite's naive client (a). */
    private void naive(Connection c, UUID user, long seq) throws SQLException {
        long v = version.incrementAndGet();
        String fv = "{\"callAgentId\":" + v + ",\"smsAgentId\":" + v + "}";
        String config = "{\"call_agent_id\":\"c" + seq + "\",\"sms_agent_id\":\"s" + seq + "\"}";
        BenchmarkSuite.twoStatements(c, profileSql, settingsSql, user, config, fv);
    }

    /** The commit's packaged jar, built once in a temporary worktree and kept under target/bench-jars. */
    private static Path jarOf(String commit) throws IOException, InterruptedException {
        Path jar = JARS.resolve(commit.substring(0, 7) + ".jar").toAbsolutePath();
        if (Files.exists(jar)) {
            return jar;
        }
        Files.createDirectories(JARS);
        Path tree = Files.createTempDirectory("acs-bench-tree-");
        Files.delete(tree);
        git("worktree", "add", "--detach", tree.toString(), commit);
        try {
            run(tree, "mvn", "-B", "-o", "-q", "-DskipTests", "package");
            Files.copy(tree.resolve("target").resolve("agent-config-sync.jar"), jar, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            git("worktree", "remove", "--force", tree.toString());
        }
        return jar;
    }

    private static String git(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("git"));
        cmd.addAll(List.of(args));
        return run(Path.of("."), cmd.toArray(String[]::new));
    }

    private static String run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(20, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out.strip());
        }
        return out;
    }

    private static String oneLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        m = m.lines().findFirst().orElse(m);
        return m.length() > 160 ? m.substring(0, 160) + "…" : m;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
