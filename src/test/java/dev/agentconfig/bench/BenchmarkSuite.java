package dev.agentconfig.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Stream;

import dev.agentconfig.api.PathIdentity;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.testing.ServiceTestSupport;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

/**
 * The benchmark (run with {@code mvn -B -Pbench verify}): the service against raw JDBC running
 * the same statements on the same pool, in one run on the embedded PostgreSQL; prints a table and
 * writes docs/benchmarks.md. Every figure is the median of several repetitions after a warm-up,
 * with the min–max spread beside it; the ratios are what to read, the machine is noisy.
 */
class BenchmarkSuite extends ServiceTestSupport {
    private static final int REPS = Integer.getInteger("bench.reps", 3);
    private static final double SECONDS = Double.parseDouble(System.getProperty("bench.seconds", "4"));
    private static final int[] CLIENTS = java.util.Arrays.stream(System.getProperty("bench.clients", "1,8,32").split(","))
            .mapToInt(Integer::parseInt).toArray();
    private static final int DRAIN_ENTRIES = Integer.getInteger("bench.drain", 10_000);
    /** Which parts to run (default all): save, read, outage, drain. */
    private static final List<String> PHASES = List.of(System.getProperty("bench.phases", "save,read,outage,drain").split(","));

    private final List<String> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private HttpClient http;
    private String profileSql;
    private String settingsSql;

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.db.pool-size", "16");
        p.setProperty("agentconfig.db.connect-timeout", "1000ms");
        p.setProperty("agentconfig.db.statement-timeout", "5000ms");
        p.setProperty("agentconfig.sync.interval", "60m");
        p.setProperty("agentconfig.sync.initial-delay", "60m");
        return p;
    }

    @Test
    void benchmark() throws Exception {
        // HTTP/1.1 keep-alive, as a reverse proxy or a browser-facing app server would call it
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .executor(java.util.concurrent.Executors.newFixedThreadPool(40)).build();
        profileSql = positional(read("/sql/upsert-profile.sql"));
        settingsSql = positional(read("/sql/settings-rpc.sql"));
        String tenant = "bench";
        long t0 = System.nanoTime();

        // ----- saves ---------------------------------------------------------------------------
        for (int clients : PHASES.contains("save") ? CLIENTS : new int[0]) {
            Stats raw = repeat(() -> Load.run(clients, SECONDS, seq -> rawSave(tenant, UUID.randomUUID(), seq)));
            Stats route = repeat(() -> Load.run(clients, SECONDS, seq -> routeSave(tenant, UUID.randomUUID(), seq)));
            Stats put = repeat(() -> Load.run(clients, SECONDS, seq -> httpSave(tenant, UUID.randomUUID(), seq)));
            row("save, raw JDBC (baseline)", clients, raw, null);
            row("save, direct:save", clients, route, raw);
            row("save, HTTP PUT", clients, put, raw);
        }

        // ----- reads ---------------------------------------------------------------------------
        List<UUID> readable = new ArrayList<>();
        for (int i = 0; i < (PHASES.contains("read") ? 2000 : 0); i++) {
            UUID u = UUID.randomUUID();
            routeSave(tenant, u, i);
            readable.add(u);
        }
        for (int clients : PHASES.contains("read") ? new int[] {1, 8} : new int[0]) {
            Stats raw = repeat(() -> Load.run(clients, SECONDS, seq -> rawRead(tenant, readable.get((int) (seq % readable.size())))));
            Stats route = repeat(() -> Load.run(clients, SECONDS, seq -> routeRead(tenant, readable.get((int) (seq % readable.size())))));
            Stats get = repeat(() -> Load.run(clients, SECONDS, seq -> httpRead(tenant, readable.get((int) (seq % readable.size())))));
            row("merged read, raw JDBC of both rows (baseline)", clients, raw, null);
            row("merged read, direct:read", clients, route, raw);
            row("merged read, HTTP GET", clients, get, raw);
        }

        // ----- outage ----------------------------------------------------------------------------
        if (PHASES.contains("outage")) {
        stopDatabase();
        try {
            for (int i = 0; i < 10; i++) {
                routeSave(tenant, UUID.randomUUID(), i); // opens the breakers
            }
            Stats outageRoute = repeat(() -> Load.run(8, SECONDS, seq -> routeSave(tenant, UUID.randomUUID(), seq)));
            Stats outageHttp = repeat(() -> Load.run(8, SECONDS, seq -> httpSave(tenant, UUID.randomUUID(), seq)));
            row("save during an outage (breakers open), direct:save", 8, outageRoute, null);
            row("save during an outage (breakers open), HTTP PUT", 8, outageHttp, null);
        } finally {
            startDatabase();
            resetBreakers();
        }
        template.requestBody("direct:sync-pass", (Object) null); // drain what the outage parked
        }

        // ----- sync drain, memory and disk per entry ------------------------------------------
        if (PHASES.contains("drain")) {
            drain(tenant);
        }

        double minutes = (System.nanoTime() - t0) / 60e9;
        String report = report(minutes);
        System.out.println(report);
        Path out = Path.of("docs/benchmarks.md");
        Files.createDirectories(out.getParent());
        String existing = Files.exists(out) ? Files.readString(out) : "";
        int soak = existing.indexOf("## Soak");
        Files.writeString(out, report + (soak >= 0 ? "\n" + existing.substring(soak) : ""));
    }

    // ----- operations --------------------------------------------------------------------------

    private void rawSave(String tenant, UUID user, long seq) throws Exception {
        String fv = "{\"callAgentId\":" + (1_000_000 + seq) + ",\"smsAgentId\":" + (1_000_000 + seq) + "}";
        try (Connection c = dataSource().getConnection()) {
            try (PreparedStatement ps = c.prepareStatement(profileSql)) {
                ps.setString(1, user.toString());
                ps.setString(2, tenant);
                ps.setString(3, null);
                ps.setString(4, "{\"call_agent_id\":\"c" + seq + "\",\"sms_agent_id\":\"s" + seq + "\"}");
                ps.setString(5, fv);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                }
            }
            try (PreparedStatement ps = c.prepareStatement(settingsSql)) {
                ps.setString(1, user.toString());
                ps.setString(2, tenant);
                ps.setString(3, "{\"call_agent_id\":\"c" + seq + "\",\"sms_agent_id\":\"s" + seq + "\"}");
                ps.setString(4, "{}");
                ps.setString(5, fv);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                }
            }
        }
    }

    private void routeSave(String tenant, UUID user, long seq) {
        Exchange ex = saveRoute(tenant, user, "{\"callAgentId\":\"c" + seq + "\",\"smsAgentId\":\"s" + seq + "\"}");
        if (ex.getException() != null) {
            throw new IllegalStateException(ex.getException());
        }
    }

    private void httpSave(String tenant, UUID user, long seq) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + serviceToken).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"c" + seq + "\",\"smsAgentId\":\"s" + seq + "\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200 && r.statusCode() != 202) {
            throw new IllegalStateException(r.statusCode() + " " + r.body());
        }
    }

    private void rawRead(String tenant, UUID user) throws Exception {
        try (Connection c = dataSource().getConnection()) {
            for (String sql : List.of(
                    "SELECT encrypted_retell_api_key, encrypted_agent_config, field_versions, updated_at "
                            + "FROM public.user_profiles WHERE user_id = ?::uuid AND tenant_id = ?",
                    "SELECT retell_config, encrypted_api_keys, field_versions, updated_at "
                            + "FROM public.user_settings WHERE user_id = ?::uuid AND tenant_id = ?")) {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setString(1, user.toString());
                    ps.setString(2, tenant);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            throw new IllegalStateException("no row");
                        }
                    }
                }
            }
        }
    }

    private void routeRead(String tenant, UUID user) {
        Exchange ex = template.request("direct:read",
                e -> e.getMessage().setBody(dev.agentconfig.core.UserKey.of(tenant, user.toString())));
        if (ex.getException() != null) {
            throw new IllegalStateException(ex.getException());
        }
    }

    private void httpRead(String tenant, UUID user) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + serviceToken).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(r.statusCode() + " " + r.body());
        }
    }

    // ----- drain -------------------------------------------------------------------------------

    private void drain(String tenant) throws Exception {
        LocalStore store = context.getRegistry().lookupByNameAndType("localStore", LocalStore.class);
        List<double[]> product = new ArrayList<>();
        List<double[]> raw = new ArrayList<>();
        long bytesApparent = 0;
        long bytesAllocated = 0;
        long heapPerEntry = 0;
        for (int rep = 0; rep < REPS; rep++) {
            List<UUID> users = new ArrayList<>();
            long heapBefore = heapAfterGc();
            // park DRAIN_ENTRIES saves exactly as an outage does: schema drift on both targets
            execute("ALTER TABLE public.user_profiles RENAME TO user_profiles_away");
            try {
                resetBreakers();
                for (int i = 0; i < DRAIN_ENTRIES; i++) {
                    UUID u = UUID.randomUUID();
                    users.add(u);
                    routeSave(tenant + rep, u, i);
                }
            } finally {
                execute("ALTER TABLE public.user_profiles_away RENAME TO user_profiles");
            }
            long heapAfter = heapAfterGc();
            heapPerEntry = Math.max(0, (heapAfter - heapBefore) / DRAIN_ENTRIES);
            long[] disk = diskUsage(dataDir.resolve("local-store").resolve(tenant + rep));
            bytesApparent = disk[0] / DRAIN_ENTRIES;
            bytesAllocated = disk[1] / DRAIN_ENTRIES;
            assertThat(store.pendingCount()).isGreaterThanOrEqualTo(DRAIN_ENTRIES);

            long t0 = System.nanoTime();
            while (store.pendingCount() > 0) {
                template.requestBody("direct:sync-pass", (Object) null);
            }
            double s = (System.nanoTime() - t0) / 1e9;
            product.add(new double[] {DRAIN_ENTRIES / s});

            // the baseline: the same rows applied by raw JDBC batches on the same pool
            long b0 = System.nanoTime();
            rawBatch(tenant + rep + "raw", users);
            double bs = (System.nanoTime() - b0) / 1e9;
            raw.add(new double[] {DRAIN_ENTRIES / bs});
        }
        Stats p = Stats.of(product.stream().map(a -> a[0]).toList());
        Stats r = Stats.of(raw.stream().map(a -> a[0]).toList());
        rows.add(String.format(Locale.ROOT, "| sync drain of %,d pending entries, raw JDBC batches (baseline) | – | %s entries/s | | |",
                DRAIN_ENTRIES, r.range()));
        rows.add(String.format(Locale.ROOT, "| sync drain of %,d pending entries, scheduled pass | – | %s entries/s | | | %.2f |",
                DRAIN_ENTRIES, p.range(), p.median / r.median));
        notes.add(String.format(Locale.ROOT, "Per pending entry: %,d bytes of heap (the in-memory index, after GC), "
                + "%,d bytes of JSON on disk (%,d bytes allocated in filesystem blocks).", heapPerEntry, bytesApparent, bytesAllocated));
    }

    private void rawBatch(String tenant, List<UUID> users) throws Exception {
        String settingsInsert = "INSERT INTO public.user_settings (user_id, tenant_id, retell_config, encrypted_api_keys, "
                + "field_versions, updated_at) VALUES (CAST(? AS uuid), ?, CAST(? AS jsonb), '{}'::jsonb, CAST(? AS jsonb), now()) "
                + "ON CONFLICT (user_id, tenant_id) DO UPDATE SET retell_config = EXCLUDED.retell_config, "
                + "field_versions = EXCLUDED.field_versions, updated_at = EXCLUDED.updated_at";
        String profileInsert = profileSql.substring(0, profileSql.indexOf("RETURNING"));
        try (Connection c = dataSource().getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement pp = c.prepareStatement(profileInsert); PreparedStatement sp = c.prepareStatement(settingsInsert)) {
                int n = 0;
                for (UUID u : users) {
                    String fv = "{\"callAgentId\":" + (2_000_000 + n) + ",\"smsAgentId\":" + (2_000_000 + n) + "}";
                    String cfg = "{\"call_agent_id\":\"c" + n + "\",\"sms_agent_id\":\"s" + n + "\"}";
                    UUID user = UUID.nameUUIDFromBytes((tenant + u).getBytes(StandardCharsets.UTF_8));
                    pp.setString(1, user.toString());
                    pp.setString(2, tenant);
                    pp.setString(3, null);
                    pp.setString(4, cfg);
                    pp.setString(5, fv);
                    pp.addBatch();
                    sp.setString(1, user.toString());
                    sp.setString(2, tenant);
                    sp.setString(3, cfg);
                    sp.setString(4, fv);
                    sp.addBatch();
                    if (++n % 500 == 0) {
                        pp.executeBatch();
                        sp.executeBatch();
                        c.commit();
                    }
                }
                pp.executeBatch();
                sp.executeBatch();
                c.commit();
            }
        }
    }

    // ----- reporting ---------------------------------------------------------------------------

    /** One figure set: medians over repetitions, with spread. */
    record Stats(double median, double min, double max, double p50, double p99, double p50Min, double p50Max,
                 double p99Min, double p99Max) {
        static Stats of(List<Double> values) {
            double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            return new Stats(v[v.length / 2], v[0], v[v.length - 1], 0, 0, 0, 0, 0, 0);
        }

        String range() {
            return String.format(Locale.ROOT, "%,.0f (%,.0f–%,.0f)", median, min, max);
        }
    }

    private Stats repeat(ThrowingSupplier<Load.Result> run) throws Exception {
        run.get(); // warm-up, not counted (twice: the JIT compiles the route's many small methods late)
        run.get();
        List<Load.Result> results = new ArrayList<>();
        for (int i = 0; i < REPS; i++) {
            Load.Result r = run.get();
            if (r.errors() > 0) {
                notes.add(r.errors() + " errors in one repetition at " + r.clients() + " clients");
            }
            results.add(r);
        }
        double[] tp = results.stream().mapToDouble(Load.Result::throughput).sorted().toArray();
        double[] p50 = results.stream().mapToDouble(r -> r.percentileMs(50)).sorted().toArray();
        double[] p99 = results.stream().mapToDouble(r -> r.percentileMs(99)).sorted().toArray();
        int m = tp.length / 2;
        return new Stats(tp[m], tp[0], tp[tp.length - 1], p50[m], p99[m], p50[0], p50[p50.length - 1], p99[0],
                p99[p99.length - 1]);
    }

    interface ThrowingSupplier<T> {
        T get() throws Exception;
    }

    private void row(String what, int clients, Stats s, Stats baseline) {
        rows.add(String.format(Locale.ROOT, "| %s | %d | %s ops/s | %.1f (%.1f–%.1f) | %.1f (%.1f–%.1f) | %s |",
                what, clients, s.range(), s.p50, s.p50Min, s.p50Max, s.p99, s.p99Min, s.p99Max,
                baseline == null ? "" : String.format(Locale.ROOT, "%.2f", s.median / baseline.median)));
        System.out.println(rows.get(rows.size() - 1));
    }

    private String report(double minutes) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append("# Benchmarks\n\n");
        sb.append("Produced by `mvn -B -Pbench verify` (").append(Instant.now().toString(), 0, 16).append("Z, ")
                .append(String.format(Locale.ROOT, "%.1f", minutes)).append(" min).\n\n");
        sb.append("Machine: ").append(machine()).append("\n\n");
        sb.append("Each figure is the median of ").append(REPS).append(" repetitions of ").append(SECONDS)
                .append(" s after two warm-up runs, with the min–max over the repetitions in brackets. ")
                .append("Latencies are per operation, in ms. The ratio is throughput divided by the baseline's in the ")
                .append("same run (route / raw): the baseline runs the same statements (the profile upsert and the ")
                .append("settings function) on the same pool at the same concurrency, without the route (no ")
                .append("validation, versioning, dead-letter channel, audit or HTTP).\n\n");
        sb.append("| what | clients | throughput | p50 ms | p99 ms | ratio to baseline |\n");
        sb.append("|---|---|---|---|---|---|\n");
        rows.forEach(r -> sb.append(r).append('\n'));
        sb.append('\n');
        notes.forEach(n -> sb.append("- ").append(n).append('\n'));
        return sb.toString();
    }

    private static String machine() {
        String cpu = "unknown CPU";
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            cpu = lines.filter(l -> l.startsWith("model name")).findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .orElse(cpu);
        } catch (IOException ignored) {
            // not Linux
        }
        long memKb = 0;
        try (Stream<String> lines = Files.lines(Path.of("/proc/meminfo"))) {
            memKb = lines.filter(l -> l.startsWith("MemTotal")).findFirst()
                    .map(l -> Long.parseLong(l.replaceAll("\\D", ""))).orElse(0L);
        } catch (IOException ignored) {
            // not Linux
        }
        return String.format(Locale.ROOT, "%d cores (%s), %.0f GiB, %s %s, Java %s, PostgreSQL 17 embedded (zonky), "
                        + "pool %d", Runtime.getRuntime().availableProcessors(), cpu, memKb / 1048576.0,
                System.getProperty("os.name"), System.getProperty("os.version"), System.getProperty("java.version"), 16);
    }

    private static long heapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100); // let the collector settle; there is no condition to await
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** Apparent bytes and allocated bytes (filesystem blocks) under dir, as du counts them. */
    private static long[] diskUsage(Path dir) throws IOException, InterruptedException {
        return new long[] {du(dir, true), du(dir, false)};
    }

    private static long du(Path dir, boolean apparent) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("du", "-s", "--block-size=1"));
        if (apparent) {
            cmd.add("--apparent-size");
        }
        cmd.add(dir.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        p.waitFor();
        return Long.parseLong(out.split("\\s+")[0]);
    }

    private static String read(String resource) throws IOException {
        try (var in = BenchmarkSuite.class.getResourceAsStream(resource)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** camel-sql's named parameters (:#name) as JDBC positional ones, in order. */
    private static String positional(String sql) {
        return sql.replaceAll(":#\\w+", "?");
    }
}
