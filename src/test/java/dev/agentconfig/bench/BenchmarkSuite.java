package dev.agentconfig.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.testing.ServiceTestSupport;
import dev.agentconfig.transport.TargetRows;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;

/**
 * The benchmark (run with {@code mvn -B -Pbench verify}; writes docs/benchmarks.md). Everything in one run on
 * the embedded PostgreSQL, durable (synchronous_commit and fsync are read back and printed), with the
 * baselines a save is judged against measured in the same run on the same pool:
 * <ul>
 * <li>(a) the naive client: the service's two statements (sql/upsert-profile.sql, sql/settings-rpc.sql) in
 *     autocommit, two commits per save, as a hand-written client does;</li>
 * <li>(b) the physical limit: both statements in one transaction, one commit;</li>
 * <li>(c) the disk's commit rate: a one-row insert per commit.</li>
 * </ul>
 * Then: saves through direct:save and HTTP PUT (and direct:save on the rest transport against a PostgREST
 * stub), commits per save from pg_stat_database, reads, outage latency and the drain after the database
 * returns, a sync drain of 10,000 entries against a raw batched upsert of the same entries, and a CPU view
 * with synchronous_commit=off (a separate, labelled table: CPU per save, where the commit no longer hides it),
 * and a JFR profile of a steady-state save run. Every figure is the median of several repetitions after
 * warm-up runs, the min–max beside it; ratios are against baselines of the same run.
 *
 * <p>Knobs (system properties): bench.seconds (3), bench.reps (3), bench.warmups (2), bench.clients (1,8,32),
 * bench.drain (10000), bench.phases (save,rest,read,cpu,outage,drain,profile,beforeafter: a subset runs only those
 * sections, e.g. {@code -Dbench.phases=cpu,profile}), bench.jfr.period (10, ms), bench.beforeafter.rounds (2)
 * and bench.before (cbbc2a7): the before/after table of {@link BeforeAfter}.
 */
class BenchmarkSuite extends ServiceTestSupport {
    private static final int REPS = Integer.getInteger("bench.reps", 3);
    private static final int WARMUPS = Integer.getInteger("bench.warmups", 2);
    private static final double SECONDS = Double.parseDouble(System.getProperty("bench.seconds", "3"));
    private static final int[] CLIENTS = Arrays.stream(System.getProperty("bench.clients", "1,8,32").split(","))
            .mapToInt(Integer::parseInt).toArray();
    private static final int DRAIN_ENTRIES = Integer.getInteger("bench.drain", 10_000);
    private static final List<String> PHASES = List.of(System.getProperty("bench.phases",
            "save,rest,read,cpu,outage,drain,profile,beforeafter").split(","));
    /** The middle concurrency: commits per save, the CPU view and the profile run at it. */
    private static final int MID = CLIENTS.length > 1 ? CLIENTS[CLIENTS.length / 2] : CLIENTS[0];
    private static final int USERS = 1000;
    private static final int JFR_PERIOD_MS = Integer.getInteger("bench.jfr.period", 10);
    private static final int POOL = 16;

    private final List<String> saveRows = new ArrayList<>();
    private final List<String> readRows = new ArrayList<>();
    private final List<String> outageRows = new ArrayList<>();
    private final List<String> drainRows = new ArrayList<>();
    private final List<String> cpuRows = new ArrayList<>();
    private final List<String> targetRows = new ArrayList<>();
    private final List<String> profileLines = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private String beforeAfter = "";
    private final Map<String, Stats> results = new HashMap<>();
    private final Map<String, Double> figures = new HashMap<>();
    /** Versions for the raw baselines: always newer than the last, across runs (the guard compares them). */
    private final AtomicLong rawVersion = new AtomicLong(System.currentTimeMillis() * 1000);
    private HttpClient http;
    private ExecutorService httpThreads;
    private String profileSql;
    private String settingsSql;
    private String profileBatchSql;
    private String settingsBatchSql;
    private String machine;
    private String durability;

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.db.pool-size", String.valueOf(POOL));
        // production's values (ServiceTestSupport shortens them for tests)
        p.setProperty("agentconfig.db.connect-timeout", "1000ms");
        p.setProperty("agentconfig.db.statement-timeout", "2000ms");
        p.setProperty("agentconfig.breaker.probe-interval", "1s");
        // no scheduled pass: a drain is started by the database's return (drain on return) or by the benchmark
        p.setProperty("agentconfig.sync.interval", "60m");
        p.setProperty("agentconfig.sync.initial-delay", "60m");
        return p;
    }

    @Test
    void benchmark() throws Exception {
        // HTTP/1.1 keep-alive, as a reverse proxy or a browser-facing app server would call it; its threads are
        // named so that the CPU view can leave the load generator's HTTP client out of the service's CPU
        AtomicInteger n = new AtomicInteger();
        httpThreads = Executors.newFixedThreadPool(40, r -> {
            Thread t = new Thread(r, "bench-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(httpThreads).build();
        profileSql = sql("/sql/upsert-profile.sql");
        settingsSql = sql("/sql/settings-rpc.sql");
        profileBatchSql = sql("/sql/upsert-profiles-batch.sql");
        settingsBatchSql = sql("/sql/settings-rpc-batch.sql");
        execute("CREATE SCHEMA IF NOT EXISTS bench");
        execute("CREATE TABLE IF NOT EXISTS bench.commit_probe (n bigint NOT NULL)");
        long t0 = System.nanoTime();
        durability = durability();
        assertThat(durability).as("the benchmark runs durable").contains("synchronous_commit=on").contains("fsync=on");
        machine = machine();
        System.out.println("BENCH machine: " + machine + "; " + durability);

        if (PHASES.contains("save")) {
            saves();
        }
        if (PHASES.contains("rest")) {
            restSaves();
        }
        if (PHASES.contains("read")) {
            reads();
        }
        if (PHASES.contains("outage")) {
            outage();
        }
        if (PHASES.contains("drain")) {
            drain();
        }
        if (PHASES.contains("cpu")) {
            cpuView();
        }
        if (PHASES.contains("profile")) {
            profile();
        }
        if (PHASES.contains("beforeafter")) {
            beforeAfter = new BeforeAfter(CLIENTS, SECONDS, Integer.getInteger("bench.beforeafter.rounds", 2), http,
                    profileSql, settingsSql).section();
            System.out.println(beforeAfter);
        }
        targets();
        double minutes = (System.nanoTime() - t0) / 60e9;
        String report = report(minutes);
        System.out.println(report);
        Path out = Path.of("docs/benchmarks.md");
        Files.createDirectories(out.getParent());
        String existing = Files.exists(out) ? Files.readString(out) : "";
        // the sections other runs write (Kafka's and the rotation's benchmarks, the soak) are kept as they are
        int kept = java.util.stream.Stream.of("## Kafka", "## Key rotation", "## Soak").mapToInt(existing::indexOf)
                .filter(i -> i >= 0).min().orElse(-1);
        Files.writeString(out, report + (kept >= 0 ? "\n" + existing.substring(kept) : ""));
        httpThreads.shutdownNow();
    }

    // ----- saves -----------------------------------------------------------------------------------

    private void saves() throws Exception {
        List<UUID> naiveUsers = users();
        List<UUID> txUsers = users();
        List<UUID> routeUsers = users();
        List<UUID> httpUsers = users();
        for (int clients : CLIENTS) {
            Stats commitRate = repeat(() -> Load.run(clients, SECONDS, seq -> commitProbe(seq)));
            Stats naive = repeat(() -> Load.run(clients, SECONDS, seq -> rawSave(naiveUsers, seq, false)));
            Stats tx = repeat(() -> Load.run(clients, SECONDS, seq -> rawSave(txUsers, seq, true)));
            Stats route = repeat(() -> Load.run(clients, SECONDS, seq -> routeSave(routeUsers.get((int) (seq % USERS)), seq)));
            Stats put = repeat(() -> Load.run(clients, SECONDS, seq -> httpSave(httpUsers.get((int) (seq % USERS)), seq)));
            results.put("c/" + clients, commitRate);
            results.put("a/" + clients, naive);
            results.put("b/" + clients, tx);
            results.put("route/" + clients, route);
            results.put("put/" + clients, put);
            saveRow("(c) disk's commit rate: one-row insert per commit", clients, commitRate, null, null, "1");
            saveRow("(a) naive client: both statements, autocommit", clients, naive, naive, tx, commits("a"));
            saveRow("(b) physical limit: both statements, one transaction", clients, tx, naive, tx, commits("b"));
            saveRow("direct:save", clients, route, naive, tx, commits("route"));
            saveRow("HTTP PUT", clients, put, naive, tx, commits("put"));
            if (clients == MID) {
                // commits per save, counted in PostgreSQL over a run of their own
                figures.put("commits/a", commitsPerOp(() -> Load.run(clients, SECONDS, seq -> rawSave(naiveUsers, seq, false))));
                figures.put("commits/b", commitsPerOp(() -> Load.run(clients, SECONDS, seq -> rawSave(txUsers, seq, true))));
                figures.put("commits/route", commitsPerOp(() -> Load.run(clients, SECONDS,
                        seq -> routeSave(routeUsers.get((int) (seq % USERS)), seq))));
                figures.put("commits/put", commitsPerOp(() -> Load.run(clients, SECONDS,
                        seq -> httpSave(httpUsers.get((int) (seq % USERS)), seq))));
            }
        }
        for (String v : List.of("a", "b", "route", "put")) {
            saveRows.replaceAll(r -> r.replace(commits(v), fmt2(figures.get("commits/" + v))));
        }
    }

    private static String commits(String variant) {
        return "{commits/" + variant + "}";
    }

    private void restSaves() throws Exception {
        List<UUID> restUsers = users();
        try (RestInstance rest = new RestInstance()) {
            ProducerTemplate restTemplate = rest.template();
            for (int clients : CLIENTS) {
                Stats s = repeat(() -> Load.run(clients, SECONDS, seq -> restSave(restTemplate, restUsers.get((int) (seq % USERS)), seq)));
                results.put("rest/" + clients, s);
                saveRow("direct:save, rest transport (PostgREST stub: no database, no commit)", clients, s,
                        results.get("a/" + clients), results.get("b/" + clients), "0");
            }
        }
    }

    private void commitProbe(long seq) throws SQLException {
        try (Connection c = dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO bench.commit_probe (n) VALUES (?)")) {
            ps.setLong(1, seq);
            ps.executeUpdate();
        }
    }

    /** The service's two statements on one connection: in autocommit (a), or in one transaction (b). */
    private void rawSave(List<UUID> users, long seq, boolean oneTransaction) throws SQLException {
        UUID user = users.get((int) (seq % USERS));
        long v = rawVersion.incrementAndGet();
        String fv = "{\"callAgentId\":" + v + ",\"smsAgentId\":" + v + "}";
        String config = "{\"call_agent_id\":\"c" + seq + "\",\"sms_agent_id\":\"s" + seq + "\"}";
        try (Connection c = dataSource().getConnection()) {
            if (oneTransaction) {
                c.setAutoCommit(false);
            }
            try {
                twoStatements(c, profileSql, settingsSql, user, config, fv);
                if (oneTransaction) {
                    c.commit();
                }
            } finally {
                if (oneTransaction) {
                    c.rollback();
                    c.setAutoCommit(true);
                }
            }
        }
    }

    private void routeSave(UUID user, long seq) {
        Exchange ex = saveRoute("bench", user, "{\"callAgentId\":\"c" + seq + "\",\"smsAgentId\":\"s" + seq + "\"}");
        if (ex.getException() != null) {
            throw new IllegalStateException(ex.getException());
        }
    }

    private static void restSave(ProducerTemplate template, UUID user, long seq) {
        var command = new dev.agentconfig.save.SaveCommandParser().http(UserKey.of("bench", user.toString()),
                ("{\"callAgentId\":\"c" + seq + "\",\"smsAgentId\":\"s" + seq + "\"}").getBytes(StandardCharsets.UTF_8),
                null);
        Exchange ex = template.request("direct:save", e -> e.getMessage().setBody(command));
        if (ex.getException() != null) {
            throw new IllegalStateException(ex.getException());
        }
    }

    private void httpSave(UUID user, long seq) throws Exception {
        httpSave("bench", user, seq);
    }

    private int httpSave(String tenant, UUID user, long seq) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/"
                        + tenant + "/" + user))
                .header("Authorization", "Bearer " + serviceToken).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"c" + seq + "\",\"smsAgentId\":\"s" + seq + "\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200 && r.statusCode() != 202) {
            throw new IllegalStateException(r.statusCode() + " " + r.body());
        }
        return r.statusCode();
    }

    /**
     * Commits per operation, from pg_stat_database.xact_commit: read before and after the run once every
     * backend has flushed its statistics (an idle backend does within about a second of its last transaction);
     * everything the run made the database commit is counted (the audit writer's too).
     */
    private double commitsPerOp(ThrowingSupplier<Load.Result> run) throws Exception {
        try (Connection c = directConnection(); Statement st = c.createStatement()) {
            long before = flushedXactCommit(st);
            Load.Result r = run.get();
            long after = flushedXactCommit(st);
            return (after - before) / (double) Math.max(1, r.operations());
        }
    }

    /** xact_commit once it has stopped moving (a backend flushes at most once a second: two reads 1.1 s apart). */
    private static long flushedXactCommit(Statement st) throws Exception {
        long last = xactCommit(st);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            Thread.sleep(1100); // statistics arrive when the backends flush them: polled
            long now = xactCommit(st);
            // this reading connection's own commits trickle in too: at most a couple per second
            if (now - last <= 2) {
                return now;
            }
            last = now;
        }
        return last;
    }

    private static long xactCommit(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    // ----- reads -----------------------------------------------------------------------------------

    private void reads() throws Exception {
        List<UUID> readable = users();
        Load.runCount(8, readable.size(), seq -> routeSave(readable.get((int) seq), seq));
        for (int clients : java.util.stream.IntStream.of(1, MID).distinct().toArray()) {
            Stats raw = repeat(() -> Load.run(clients, SECONDS, seq -> rawRead(readable.get((int) (seq % USERS)))));
            Stats route = repeat(() -> Load.run(clients, SECONDS, seq -> routeRead(readable.get((int) (seq % USERS)))));
            Stats get = repeat(() -> Load.run(clients, SECONDS, seq -> httpRead(readable.get((int) (seq % USERS)))));
            results.put("read-raw/" + clients, raw);
            results.put("read-route/" + clients, route);
            results.put("read-get/" + clients, get);
            readRow("raw JDBC: both rows (baseline)", clients, raw, null);
            readRow("direct:read (merged, with the local store)", clients, route, raw);
            readRow("HTTP GET", clients, get, raw);
        }
    }

    private void rawRead(UUID user) throws Exception {
        try (Connection c = dataSource().getConnection()) {
            for (String sql : List.of(
                    "SELECT encrypted_retell_api_key, encrypted_agent_config, field_versions, updated_at "
                            + "FROM public.user_profiles WHERE user_id = ?::uuid AND tenant_id = ?",
                    "SELECT retell_config, encrypted_api_keys, field_versions, updated_at "
                            + "FROM public.user_settings WHERE user_id = ?::uuid AND tenant_id = ?")) {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setString(1, user.toString());
                    ps.setString(2, "bench");
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            throw new IllegalStateException("no row");
                        }
                    }
                }
            }
        }
    }

    private void routeRead(UUID user) {
        Exchange ex = template.request("direct:read", e -> e.getMessage().setBody(UserKey.of("bench", user.toString())));
        if (ex.getException() != null) {
            throw new IllegalStateException(ex.getException());
        }
    }

    private void httpRead(UUID user) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/bench/" + user))
                .header("Authorization", "Bearer " + serviceToken).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(r.statusCode() + " " + r.body());
        }
    }

    // ----- outage ----------------------------------------------------------------------------------

    /**
     * HTTP PUT at MID clients; the database stops 1 s in (pg_ctl stop -m fast). Throughput and p99 of the saves
     * that started in the first 2 s after the stop, and at steady state (from 3 s after it to the end); then
     * the database starts and the queued saves drain (drain on return: no scheduled pass in this run).
     */
    private void outage() throws Exception {
        double before = 1.0;
        double total = before + 2 + Math.max(3, SECONDS * 2);
        long[] stoppedAt = new long[1];
        String tenant = "outage";
        AtomicInteger queued = new AtomicInteger();
        long loadStart = System.nanoTime();
        Load.Result r = Load.run(MID, total, Long.MAX_VALUE, seq -> {
            if (httpSave(tenant, UUID.randomUUID(), seq) == 202) {
                queued.incrementAndGet();
            }
        }, before, () -> {
            stoppedAt[0] = System.nanoTime();
            stopDatabase();
        });
        double stop = (stoppedAt[0] - loadStart) / 1e9;
        long[] first = r.window(stop, stop + 2);
        long[] steady = r.window(stop + 3, total);
        double steadyLen = Math.max(0.001, Math.min(total, r.seconds()) - (stop + 3));
        LocalStore store = context.getRegistry().lookupByNameAndType("localStore", LocalStore.class);
        long pending = store.pendingCount();
        outageRow("HTTP PUT, first 2 s after the database stopped", first.length / 2.0, first);
        outageRow(String.format(Locale.ROOT, "HTTP PUT, steady state (%.0f s from 3 s after the stop)", steadyLen),
                steady.length / steadyLen, steady);
        figures.put("outage/first/p99", Load.Result.percentileMs(first, 99));
        figures.put("outage/steady/p99", Load.Result.percentileMs(steady, 99));
        if (r.errors() > 0) {
            notes.add(r.errors() + " saves failed (no answer or not 200/202) during the outage run");
        }

        embedded().start();
        long back = System.nanoTime();
        waitUntil(Duration.ofSeconds(120), () -> store.pendingCount() == 0);
        double drainS = (System.nanoTime() - back) / 1e9;
        figures.put("outage/drain/s", drainS);
        outageRows.add(String.format(Locale.ROOT, "| drain after the database's return: %,d queued saves | %.1f s "
                + "(%,.0f entries/s) from the server's start to an empty local store | 3,124 queued: 12.7 s (10 s "
                + "interval), 7.2 s (1 s interval) |", pending, drainS, pending / Math.max(drainS, 0.001)));
        System.out.println(outageRows.get(outageRows.size() - 1));
        startDatabase();
        resetBreakers();
    }

    private void outageRow(String what, double perSecond, long[] sortedLatencies) {
        String reference = what.contains("first") ? "~93/s, p99 ≈ 100 ms" : "200–575/s, p99 28–63 ms";
        outageRows.add(String.format(Locale.ROOT, "| %s | %,.0f saves/s, p50 %.1f ms, p99 %.1f ms | %s |", what,
                perSecond, Load.Result.percentileMs(sortedLatencies, 50), Load.Result.percentileMs(sortedLatencies, 99),
                reference));
        System.out.println(outageRows.get(outageRows.size() - 1));
    }

    // ----- drain -----------------------------------------------------------------------------------

    /**
     * DRAIN_ENTRIES saves queued while the database is stopped (direct:save at MID clients), then the database
     * starts: the time until both tables hold them all (drain on return), against a raw batched upsert of the
     * same entries (the same multi-row statements, 200 entries per transaction, one connection) for other users.
     */
    private void drain() throws Exception {
        LocalStore store = context.getRegistry().lookupByNameAndType("localStore", LocalStore.class);
        List<Double> drained = new ArrayList<>();
        List<Double> drainSeconds = new ArrayList<>();
        List<Double> raw = new ArrayList<>();
        long heapPerEntry = 0;
        long bytesApparent = 0;
        long bytesAllocated = 0;
        for (int rep = 0; rep < REPS; rep++) {
            String tenant = "drain" + rep;
            stopDatabase();
            long heapBefore = heapAfterGc();
            long q0 = System.nanoTime();
            Load.Result parked = Load.runCount(MID, DRAIN_ENTRIES, seq -> {
                Exchange ex = saveRoute(tenant, UUID.randomUUID(),
                        "{\"retellApiKey\":\"" + KEY_PREFIX + "drain" + seq + "\",\"callAgentId\":\"c" + seq
                                + "\",\"smsAgentId\":\"s" + seq + "\"}");
                if (ex.getException() != null || !Integer.valueOf(202).equals(ex.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE))) {
                    throw new IllegalStateException("not queued");
                }
            });
            double queueS = (System.nanoTime() - q0) / 1e9;
            assertThat(parked.errors()).isZero();
            heapPerEntry = Math.max(0, (heapAfterGc() - heapBefore) / DRAIN_ENTRIES);
            long[] disk = diskUsage(dataDir.resolve("local-store").resolve(tenant));
            bytesApparent = disk[0] / DRAIN_ENTRIES;
            bytesAllocated = disk[1] / DRAIN_ENTRIES;
            List<SealedSave> entries = store.list().stream().filter(e -> e.tenantId().equals(tenant))
                    .map(PendingEntry::asReplay).toList();
            assertThat(entries).hasSize(DRAIN_ENTRIES);

            // -Dbench.jfr.drain=true: the first repetition's drain recorded to target/bench-drain.jfr
            Recording drainRecording = rep == 0 && Boolean.getBoolean("bench.jfr.drain") ? new Recording() : null;
            if (drainRecording != null) {
                drainRecording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(JFR_PERIOD_MS));
                drainRecording.enable("jdk.ThreadPark").withThreshold(Duration.ofMillis(1));
                drainRecording.enable("jdk.JavaMonitorEnter").withThreshold(Duration.ofMillis(1));
                drainRecording.enable("jdk.FileWrite").withThreshold(Duration.ofMillis(1));
                drainRecording.enable("jdk.FileForce").withThreshold(Duration.ofMillis(1));
                drainRecording.enable("jdk.SocketRead").withThreshold(Duration.ofMillis(1));
                drainRecording.start();
            }
            embedded().start();
            long back = System.nanoTime();
            waitUntil(Duration.ofSeconds(300), () -> store.pendingCount() == 0);
            double s = (System.nanoTime() - back) / 1e9;
            if (drainRecording != null) {
                drainRecording.stop();
                drainRecording.dump(Path.of("target", "bench-drain.jfr"));
                drainRecording.close();
            }
            assertThat(count("user_profiles", tenant)).isEqualTo((long) DRAIN_ENTRIES);
            assertThat(count("user_settings", tenant)).isEqualTo((long) DRAIN_ENTRIES);
            drainSeconds.add(s);
            drained.add(DRAIN_ENTRIES / s);
            startDatabase();
            resetBreakers();
            notes.add(String.format(Locale.ROOT, "Drain repetition %d: %,d saves queued in %.1f s while the database "
                    + "was stopped (%,.0f/s, direct:save at %d clients).", rep + 1, DRAIN_ENTRIES, queueS,
                    DRAIN_ENTRIES / queueS, MID));

            long b0 = System.nanoTime();
            rawBatchedUpsert(entries);
            raw.add(DRAIN_ENTRIES / ((System.nanoTime() - b0) / 1e9));
        }
        Stats d = Stats.of(drained);
        Stats r = Stats.of(raw);
        Stats ds = Stats.of(drainSeconds);
        results.put("drain", d);
        results.put("drain-raw", r);
        figures.put("drain/s", ds.median);
        drainRows.add(String.format(Locale.ROOT, "| raw batched upsert of the same entries: the two multi-row "
                + "statements, 200 entries per transaction, one connection (baseline) | %s entries/s | | |", r.range()));
        drainRows.add(String.format(Locale.ROOT, "| sync drain on the database's return (batches of %s, %s at once, "
                        + "through the group commit's %s writers) | %s entries/s | %.1f s (%.1f–%.1f) | %.2f |",
                property("agentconfig.sync.batch-size"), property("agentconfig.sync.parallelism"),
                property("agentconfig.db.group-commit.writers"), d.range(), ds.median, ds.min, ds.max, d.median / r.median));
        drainRows.forEach(System.out::println);
        notes.add(String.format(Locale.ROOT, "Per pending entry: %,d bytes of heap (the in-memory index, after GC), "
                + "%,d bytes of JSON on disk (%,d bytes allocated in filesystem blocks).", heapPerEntry, bytesApparent,
                bytesAllocated));
    }

    private String property(String key) {
        return context.getPropertiesComponent().resolveProperty(key).orElse("?");
    }

    private long count(String table, String tenant) {
        return ((Number) query("SELECT count(*) AS n FROM public." + table + " WHERE tenant_id = ?", tenant).get(0)
                .get("n")).longValue();
    }

    private void rawBatchedUpsert(List<SealedSave> entries) throws SQLException {
        try (Connection c = dataSource().getConnection()) {
            c.setAutoCommit(false);
            try {
                for (int from = 0; from < entries.size(); from += 200) {
                    List<SealedSave> batch = entries.subList(from, Math.min(entries.size(), from + 200));
                    int n = batch.size();
                    String[][] p = new String[5][n];
                    String[][] s = new String[5][n];
                    for (int k = 0; k < n; k++) {
                        SealedSave save = batch.get(k);
                        // other users, the same payloads
                        String user = UUID.nameUUIDFromBytes(("raw" + save.userId()).getBytes(StandardCharsets.UTF_8)).toString();
                        TargetRows.ProfileRow row = TargetRows.profile(save);
                        TargetRows.SettingsArgs args = TargetRows.settings(save);
                        p[0][k] = user;
                        p[1][k] = row.tenantId() + "-raw";
                        p[2][k] = row.encryptedApiKey();
                        p[3][k] = row.agentConfig();
                        p[4][k] = row.fieldVersions();
                        s[0][k] = user;
                        s[1][k] = args.tenantId() + "-raw";
                        s[2][k] = args.retellConfig();
                        s[3][k] = args.encryptedApiKeys();
                        s[4][k] = args.fieldVersions();
                    }
                    arrays(c, profileBatchSql, p);
                    arrays(c, settingsBatchSql, s);
                    c.commit();
                }
            } finally {
                c.rollback();
                c.setAutoCommit(true);
            }
        }
    }

    private static void arrays(Connection c, String sql, String[][] columns) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int k = 0; k < columns.length; k++) {
                ps.setArray(k + 1, c.createArrayOf("text", columns[k]));
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rs.getString(2);
                }
            }
        }
    }

    // ----- CPU view (synchronous_commit=off) ---------------------------------------------------------

    /**
     * With commits no longer waiting for the disk, a save costs CPU: the JVM's CPU per save (the process's CPU
     * time, less the load generator's HTTP client threads) and PostgreSQL's (its processes' utime+stime from
     * /proc), for raw JDBC and the routes. synchronous_commit is switched off for the database (ALTER DATABASE:
     * the embedded server's command line sets it, which ALTER SYSTEM cannot override) and restored after.
     */
    private void cpuView() throws Exception {
        List<UUID> naiveUsers = users();
        List<UUID> txUsers = users();
        List<UUID> routeUsers = users();
        List<UUID> httpUsers = users();
        String db = (String) query("SELECT current_database() AS d").get(0).get("d");
        execute("ALTER DATABASE \"" + db + "\" SET synchronous_commit = off");
        try {
            database().forgetConnections(true);
            String setting = showOnPool("synchronous_commit");
            cpuRows.add("| setting read back on a pool connection | synchronous_commit=" + setting + " | | | | | |");
            int clients = MID;
            Stats naive = repeatCpu(false, () -> Load.run(clients, SECONDS, seq -> rawSave(naiveUsers, seq, false)));
            double naiveJit = lastJitUs;
            Stats tx = repeatCpu(false, () -> Load.run(clients, SECONDS, seq -> rawSave(txUsers, seq, true)));
            double txJit = lastJitUs;
            Stats route = repeatCpu(false, () -> Load.run(clients, SECONDS, seq -> routeSave(routeUsers.get((int) (seq % USERS)), seq)));
            String routeThreads = lastCpuByThreads;
            double routeJit = lastJitUs;
            Stats put = repeatCpu(true, () -> Load.run(clients, SECONDS, seq -> httpSave(httpUsers.get((int) (seq % USERS)), seq)));
            String putThreads = lastCpuByThreads;
            double putJit = lastJitUs;
            results.put("cpu-a", naive);
            results.put("cpu-b", tx);
            results.put("cpu-route", route);
            results.put("cpu-put", put);
            cpuRow("(a) raw JDBC, both statements, autocommit", clients, naive, tx, naiveJit);
            cpuRow("(b) raw JDBC, both statements, one transaction (baseline)", clients, tx, tx, txJit);
            cpuRow("direct:save", clients, route, tx, routeJit);
            cpuRow("HTTP PUT (the load generator's HTTP client and callers not counted)", clients, put, tx, putJit);
            notes.add("CPU view, the process's CPU per save by thread (µs, from /proc/self/task: names as the kernel "
                    + "keeps them, 15 characters; GC Thread, G1 and VM Thread are the collector's and the VM's, C1/C2 "
                    + "CompilerThre the JIT's, and count the load generator's allocations and code too). The JVM CPU "
                    + "column leaves out the load generator's HTTP client threads and, for HTTP PUT, its client threads "
                    + "(bench-client-#, which only wait for the answers): direct:save: " + routeThreads
                    + "; HTTP PUT: " + putThreads + ".");
            System.out.println(notes.get(notes.size() - 1));
        } finally {
            execute("ALTER DATABASE \"" + db + "\" RESET synchronous_commit");
            database().forgetConnections(true);
        }
        String restored = showOnPool("synchronous_commit");
        notes.add("After the CPU view synchronous_commit is back to " + restored + " on the pool's connections.");
        assertThat(restored).isEqualTo("on");
    }

    private String showOnPool(String setting) throws SQLException {
        try (Connection c = dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** @param clientsAreLoad whether the load's client threads only drive the service (HTTP) or run it (direct:, JDBC) */
    private Stats repeatCpu(boolean clientsAreLoad, ThrowingSupplier<Load.Result> run) throws Exception {
        // two more warm-ups than elsewhere: what the JIT compiler still does is a start-up cost, not a save's
        for (int i = 0; i < WARMUPS + 2; i++) {
            run.get();
        }
        List<Load.Result> rs = new ArrayList<>();
        List<Double> jvm = new ArrayList<>();
        List<Double> jit = new ArrayList<>();
        List<Double> pg = new ArrayList<>();
        Map<String, Long> byThreads = new HashMap<>();
        long ops = 0;
        for (int i = 0; i < REPS; i++) {
            Cpu before = Cpu.now(postmasterPid());
            Map<String, Long> threadsBefore = Cpu.byThreadGroup();
            Load.Result r = run.get();
            Map<String, Long> threadsAfter = Cpu.byThreadGroup();
            Cpu after = Cpu.now(postmasterPid());
            threadsAfter.forEach((k, v) -> byThreads.merge(k, v - threadsBefore.getOrDefault(k, 0L), Long::sum));
            byThreads.merge("(threads that ended during the run: the load's bench-client-#, ...)", (after.processNs - before.processNs)
                    - threadsAfter.values().stream().mapToLong(Long::longValue).sum()
                    + threadsBefore.values().stream().mapToLong(Long::longValue).sum(), Long::sum);
            ops += r.operations();
            rs.add(r);
            long jitNs = jitNs(threadsAfter) - jitNs(threadsBefore);
            jvm.add((after.serviceNs(clientsAreLoad) - before.serviceNs(clientsAreLoad) - jitNs) / 1e3
                    / Math.max(1, r.operations()));
            jit.add(jitNs / 1e3 / Math.max(1, r.operations()));
            pg.add((after.postgresNs - before.postgresNs) / 1e3 / Math.max(1, r.operations()));
        }
        Stats s = Stats.of(rs);
        long operations = Math.max(1, ops);
        lastCpuByThreads = byThreads.entrySet().stream().filter(e -> !e.getKey().startsWith("bench-http-")
                        && !e.getKey().startsWith("HttpClient-") && e.getValue() * 1e-3 / operations >= 1)
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(10)
                .map(e -> String.format(Locale.ROOT, "%s %.0f", e.getKey(), e.getValue() / 1e3 / operations))
                .collect(Collectors.joining(", "));
        lastJitUs = median(jit);
        return s.withCpu(median(jvm), median(pg));
    }

    /** The JIT compiler threads' CPU (C1/C2 CompilerThread, as /proc names them). */
    private static long jitNs(Map<String, Long> byThreads) {
        return byThreads.entrySet().stream().filter(e -> e.getKey().contains("CompilerThre"))
                .mapToLong(Map.Entry::getValue).sum();
    }

    /** The last CPU-view run's JIT compiler CPU per operation (µs): not counted in its JVM CPU. */
    private double lastJitUs;

    /** The last CPU-view run's JVM CPU per operation by thread group (µs), the largest first. */
    private String lastCpuByThreads = "";

    /** CPU time so far: the JVM's, the load generator's HTTP client threads', PostgreSQL's processes'. */
    record Cpu(long processNs, long httpClientNs, long loadClientsNs, long postgresNs) {
        /** The process's CPU less the load generator's: its HTTP client's threads, and its callers' when they only drive HTTP. */
        long serviceNs(boolean clientsAreLoad) {
            return processNs - httpClientNs - (clientsAreLoad ? loadClientsNs : 0);
        }

        /** CPU time so far of the JVM's live threads, by name with its numbers left out (vert.x-worker-thread-#). */
        static Map<String, Long> byThreadGroup() {
            Map<String, Long> proc = byTask();
            if (!proc.isEmpty()) {
                return proc;
            }
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            Map<String, Long> out = new HashMap<>();
            for (var info : threads.getThreadInfo(threads.getAllThreadIds())) {
                if (info != null) {
                    long t = threads.getThreadCpuTime(info.getThreadId());
                    out.merge(info.getThreadName().replaceAll("\\d+", "#"), Math.max(0, t), Long::sum);
                }
            }
            return out;
        }

        /** Every thread of this process, the VM's own too (GC, JIT compiler), from /proc/self/task: comm, utime+stime. */
        static Map<String, Long> byTask() {
            Map<String, Long> out = new HashMap<>();
            Path tasks = Path.of("/proc/self/task");
            if (!Files.isDirectory(tasks)) {
                return out;
            }
            try (Stream<Path> all = Files.list(tasks)) {
                for (Path t : all.toList()) {
                    try {
                        String stat = Files.readString(t.resolve("stat"));
                        String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                        long ns = (Long.parseLong(f[11]) + Long.parseLong(f[12])) * (1_000_000_000L / CLOCK_TICKS);
                        out.merge(name.replaceAll("\\d+", "#"), ns, Long::sum);
                    } catch (IOException | RuntimeException gone) {
                        // the thread ended while we looked
                    }
                }
            } catch (IOException e) {
                return new HashMap<>();
            }
            return out;
        }

        static Cpu now(long postmaster) throws IOException {
            long process = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                    .getProcessCpuTime();
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long client = 0;
            for (var info : threads.getThreadInfo(threads.getAllThreadIds())) {
                if (info != null && (info.getThreadName().startsWith("bench-http-")
                        || info.getThreadName().startsWith("HttpClient-"))) {
                    long t = threads.getThreadCpuTime(info.getThreadId());
                    client += Math.max(0, t);
                }
            }
            return new Cpu(process, client, Load.CLIENT_CPU_NS.get(), postgresCpuNs(postmaster));
        }

        /** utime+stime of the postmaster and its children (the backends), from /proc. */
        static long postgresCpuNs(long postmaster) throws IOException {
            if (postmaster <= 0 || !Files.isDirectory(Path.of("/proc"))) {
                return 0;
            }
            long ticks = 0;
            try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
                for (Path p : procs.filter(x -> x.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                    try {
                        String stat = Files.readString(p.resolve("stat"));
                        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                        long pid = Long.parseLong(p.getFileName().toString());
                        long ppid = Long.parseLong(f[1]);
                        if (pid == postmaster || ppid == postmaster) {
                            ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
                        }
                    } catch (IOException | RuntimeException gone) {
                        // the process ended while we looked
                    }
                }
            }
            return ticks * (1_000_000_000L / CLOCK_TICKS);
        }
    }

    private static final long CLOCK_TICKS = clockTicks();

    private static long clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            p.waitFor();
            return Long.parseLong(out);
        } catch (IOException | RuntimeException e) {
            return 100;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 100;
        }
    }

    private long postmasterPid() {
        try {
            Path pid = embedded().clusterDirectory().resolve("postmaster.pid");
            return Long.parseLong(Files.readAllLines(pid).get(0).trim());
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    // ----- profile -----------------------------------------------------------------------------------

    /**
     * A JFR recording of a steady-state HTTP PUT run at MID clients (durable), after a warm-up: where the
     * JVM's CPU goes per save (execution samples: the top frames, and the service's own methods with what
     * runs under them) and what allocates most. Written to target/bench-save.jfr.
     */
    private void profile() throws Exception {
        List<UUID> users = users();
        for (int i = 0; i < WARMUPS; i++) {
            Load.run(MID, SECONDS, seq -> httpSave(users.get((int) (seq % USERS)), seq));
        }
        Path jfr = Path.of("target", "bench-save.jfr");
        Files.createDirectories(jfr.getParent());
        Load.Result r;
        long allocatedBefore;
        long allocatedAfter;
        try (Recording recording = new Recording()) {
            recording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(JFR_PERIOD_MS));
            recording.enable("jdk.ObjectAllocationSample").with("throttle", "300/s");
            recording.start();
            allocatedBefore = serviceAllocatedBytes();
            r = Load.run(MID, Math.max(5, SECONDS * 2), seq -> httpSave(users.get((int) (seq % USERS)), seq));
            allocatedAfter = serviceAllocatedBytes();
            recording.stop();
            recording.dump(jfr);
        }
        Map<String, Integer> self = new HashMap<>();
        Map<String, Integer> inclusive = new HashMap<>();
        Map<String, Long> allocated = new HashMap<>();
        int samples = 0;
        long allocatedTotal = 0;
        // a thread's first allocation sample weighs everything it allocated before it (since the thread began,
        // for a pool thread that served the warm-ups: megabytes), so it is left out of the attribution
        Set<Long> sampledThreads = new HashSet<>();
        List<RecordedEvent> events = new ArrayList<>(RecordingFile.readAllEvents(jfr));
        events.sort(Comparator.comparing(RecordedEvent::getStartTime));
        for (RecordedEvent e : events) {
            if (e.getStackTrace() == null || e.getStackTrace().getFrames().isEmpty()) {
                continue;
            }
            boolean execution = e.getEventType().getName().equals("jdk.ExecutionSample");
            var thread = execution ? e.getThread("sampledThread") : e.getThread();
            String threadName = thread == null || thread.getJavaName() == null ? "" : thread.getJavaName();
            if (threadName.startsWith("bench-") || threadName.startsWith("HttpClient-") || threadName.equals("main")) {
                continue; // the load generator and its HTTP client, not the service
            }
            List<RecordedFrame> frames = e.getStackTrace().getFrames();
            if (execution) {
                samples++;
                self.merge(frameName(frames.get(0)), 1, Integer::sum);
                Set<String> seen = new HashSet<>();
                for (RecordedFrame f : frames) {
                    String name = frameName(f);
                    if (name.startsWith("dev.agentconfig.") && seen.add(name)) {
                        inclusive.merge(name, 1, Integer::sum);
                    }
                }
            } else if (e.getEventType().getName().equals("jdk.ObjectAllocationSample")) {
                if (thread == null || sampledThreads.add(thread.getJavaThreadId())) {
                    continue;
                }
                long w = e.getLong("weight");
                allocatedTotal += w;
                // the first frame of ours (or the top frame when none) is where the allocation is decided
                String where = frames.stream().map(BenchmarkSuite::frameName).filter(n -> n.startsWith("dev.agentconfig."))
                        .findFirst().orElse(frameName(frames.get(0)));
                allocated.merge(where, w, Long::sum);
            }
        }
        final int sampled = samples;
        final long bytes = allocatedTotal;
        long measured = allocatedAfter - allocatedBefore;
        profileLines.add(String.format(Locale.ROOT, "HTTP PUT at %d clients for %.0f s (%,.0f saves/s while recorded), "
                + "%,d execution samples of the service's threads (every %d ms per running thread; the load generator's "
                + "threads left out), %,.1f MB allocated by them (counted by the JVM per thread, "
                + "%,.1f KB per save). Recording: target/bench-save.jfr.", MID, r.seconds(), r.throughput(), sampled,
                JFR_PERIOD_MS, measured / 1e6, measured / 1e3 / Math.max(1, r.operations())));
        profileLines.add("");
        profileLines.add("Top frames (where the CPU is, self time):");
        profileLines.add("");
        profileLines.add("| % of samples | frame |");
        profileLines.add("|---|---|");
        top(self, 20).forEach(en -> profileLines.add(String.format(Locale.ROOT, "| %.1f | `%s` |",
                100.0 * en.getValue() / Math.max(1, sampled), en.getKey())));
        profileLines.add("");
        profileLines.add("The service's own methods (with everything they call):");
        profileLines.add("");
        profileLines.add("| % of samples | method |");
        profileLines.add("|---|---|");
        top(inclusive, 25).forEach(en -> profileLines.add(String.format(Locale.ROOT, "| %.1f | `%s` |",
                100.0 * en.getValue() / Math.max(1, sampled), en.getKey())));
        profileLines.add("");
        profileLines.add("Allocation (sampled weight, each thread's first sample left out, by the first frame of the "
                + "service's own code):");
        profileLines.add("");
        profileLines.add("| % of bytes | where |");
        profileLines.add("|---|---|");
        top(allocated, 15).forEach(en -> profileLines.add(String.format(Locale.ROOT, "| %.1f | `%s` |",
                100.0 * en.getValue() / Math.max(1, bytes), en.getKey())));
        profileLines.forEach(System.out::println);
    }

    /**
     * Bytes allocated so far by the service's live threads (the JVM's per-thread counters; the load generator's
     * threads left out): exact, unlike a sum of JFR allocation samples' weights.
     */
    private static long serviceAllocatedBytes() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (var info : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (info != null && !info.getThreadName().startsWith("bench-") && !info.getThreadName().startsWith("HttpClient-")
                    && !info.getThreadName().equals("main")) {
                sum += Math.max(0, mx.getThreadAllocatedBytes(info.getThreadId()));
            }
        }
        return sum;
    }

    private static String frameName(RecordedFrame f) {
        return f.getMethod().getType().getName() + "." + f.getMethod().getName();
    }

    private static <V extends Comparable<V>> List<Map.Entry<String, V>> top(Map<String, V> m, int n) {
        return m.entrySet().stream().sorted(Map.Entry.<String, V>comparingByValue().reversed()).limit(n).toList();
    }

    // ----- targets -----------------------------------------------------------------------------------

    /** Issue 20's targets, judged on this run's figures. */
    private void targets() {
        for (int clients : CLIENTS) {
            if (clients >= 8 && has("put/" + clients, "a/" + clients)) {
                double ratio = results.get("put/" + clients).median / results.get("a/" + clients).median;
                target(String.format(Locale.ROOT, "HTTP PUT ≥ 1.0× the naive client (a) at %d clients", clients),
                        ratio >= 1.0, String.format(Locale.ROOT, "%.2f×", ratio));
            }
        }
        for (int clients : CLIENTS) {
            if (clients >= 8 && has("route/" + clients, "b/" + clients)) {
                double ratio = results.get("route/" + clients).median / results.get("b/" + clients).median;
                target(String.format(Locale.ROOT, "direct:save ≥ 1.0× one transaction per save (b) at %d clients",
                        clients), ratio >= 1.0, String.format(Locale.ROOT, "%.2f×", ratio));
            }
        }
        if (has("put/1", "a/1")) {
            double put = results.get("put/1").p50;
            double a = results.get("a/1").p50;
            target("HTTP PUT p50 at 1 client ≤ the naive client's p50 + 1 ms", put <= a + 1,
                    String.format(Locale.ROOT, "%.2f ms vs %.2f + 1 ms", put, a));
        }
        if (has("cpu-put", "cpu-route")) {
            double put = results.get("cpu-put").cpuJvmUs;
            double layer = put - results.get("cpu-route").cpuJvmUs;
            target("CPU view: JVM CPU per HTTP save ≤ 250 µs", put <= 250, String.format(Locale.ROOT, "%.0f µs", put));
            target("CPU view: the HTTP layer (HTTP PUT less direct:save) ≤ 100 µs per save", layer <= 100,
                    String.format(Locale.ROOT, "%.0f µs", layer));
        }
        if (has("read-get/" + MID, "read-raw/" + MID)) {
            double get = results.get("read-get/" + MID).p99;
            double raw = results.get("read-raw/" + MID).p99;
            target(String.format(Locale.ROOT, "merged read: HTTP GET p99 ≤ 2× raw JDBC's at %d clients", MID),
                    get <= 2 * raw, String.format(Locale.ROOT, "%.2f ms vs 2 × %.2f ms", get, raw));
        }
        if (has("drain", "drain-raw")) {
            double ratio = results.get("drain").median / results.get("drain-raw").median;
            target("drain ≥ 0.5× a raw batched upsert of the same entries", ratio >= 0.5,
                    String.format(Locale.ROOT, "%.2f×", ratio));
            double s = figures.get("drain/s");
            target(String.format(Locale.ROOT, "%,d queued saves in both tables ≤ 5 s after the database's return",
                    DRAIN_ENTRIES), s <= 5, String.format(Locale.ROOT, "%.1f s", s));
        }
        hopTargets();
    }

    /**
     * Routes and direct: hops of one happy-path HTTP save, as RouteHopsMeasure counts them (it runs before this
     * suite in the bench profile and leaves its figures in target/bench-hops.properties), and the routes of the
     * service in all (this run's Camel context, the REST routes included).
     */
    private void hopTargets() {
        Path hops = Path.of("target", "bench-hops.properties");
        if (Files.exists(hops)) {
            Properties p = new Properties();
            try (var in = Files.newInputStream(hops)) {
                p.load(in);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            int routes = Integer.parseInt(p.getProperty("routes", "-1"));
            int direct = Integer.parseInt(p.getProperty("direct", "-1"));
            target("per happy-path HTTP save ≤ 4 routes (RouteHopsMeasure)", routes >= 0 && routes <= 4,
                    routes + " (" + p.getProperty("route-ids", "") + ")");
            target("per happy-path HTTP save ≤ 3 direct: hops (RouteHopsMeasure)", direct >= 0 && direct <= 3,
                    String.valueOf(direct));
        } else {
            targetRows.add("| per happy-path HTTP save ≤ 4 routes and ≤ 3 direct: hops | not measured in this run "
                    + "(RouteHopsMeasure writes target/bench-hops.properties before the suite in the bench profile) | |");
        }
        long defined;
        try (Stream<Path> files = Files.list(Path.of("routes"))) {
            defined = 0;
            for (Path f : files.filter(f -> f.toString().endsWith(".camel.yaml")).toList()) {
                defined += Files.readAllLines(f).stream().filter(l -> l.startsWith("- route:")).count();
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        target("≤ 30 routes in routes/ in all (its `- route:` definitions; issue 20 counted 43)", defined <= 30,
                String.format(Locale.ROOT, "%d (with the REST DSL's routes, %d in this run's Camel context)", defined,
                        context.getRoutes().size()));
    }

    private boolean has(String... keys) {
        return Arrays.stream(keys).allMatch(results::containsKey);
    }

    private void target(String what, boolean met, String figure) {
        targetRows.add("| " + what + " | " + figure + " | " + (met ? "met" : "**missed**") + " |");
    }

    // ----- measuring ---------------------------------------------------------------------------------

    /** One figure set: medians over repetitions, with spread; CPU per operation for the CPU view. */
    record Stats(double median, double min, double max, double p50, double p99, double p50Min, double p50Max,
                 double p99Min, double p99Max, long errors, double cpuJvmUs, double cpuPgUs) {
        static Stats of(List<?> values) {
            if (!values.isEmpty() && values.get(0) instanceof Load.Result) {
                List<Load.Result> rs = values.stream().map(Load.Result.class::cast).toList();
                double[] tp = rs.stream().mapToDouble(Load.Result::throughput).sorted().toArray();
                double[] p50 = rs.stream().mapToDouble(r -> r.percentileMs(50)).sorted().toArray();
                double[] p99 = rs.stream().mapToDouble(r -> r.percentileMs(99)).sorted().toArray();
                int m = tp.length / 2;
                return new Stats(tp[m], tp[0], tp[tp.length - 1], p50[m], p99[m], p50[0], p50[p50.length - 1], p99[0],
                        p99[p99.length - 1], rs.stream().mapToLong(Load.Result::errors).sum(), 0, 0);
            }
            double[] v = values.stream().mapToDouble(x -> (Double) x).sorted().toArray();
            return new Stats(v[v.length / 2], v[0], v[v.length - 1], 0, 0, 0, 0, 0, 0, 0, 0, 0);
        }

        Stats withCpu(double jvmUs, double pgUs) {
            return new Stats(median, min, max, p50, p99, p50Min, p50Max, p99Min, p99Max, errors, jvmUs, pgUs);
        }

        String range() {
            return String.format(Locale.ROOT, "%,.0f (%,.0f–%,.0f)", median, min, max);
        }

        String latency() {
            return String.format(Locale.ROOT, "%.2f (%.2f–%.2f) | %.1f (%.1f–%.1f)", p50, p50Min, p50Max, p99, p99Min, p99Max);
        }
    }

    private Stats repeat(ThrowingSupplier<Load.Result> run) throws Exception {
        for (int i = 0; i < WARMUPS; i++) {
            run.get(); // not counted: the JIT compiles the route's many small methods late
        }
        List<Load.Result> rs = new ArrayList<>();
        for (int i = 0; i < REPS; i++) {
            rs.add(run.get());
        }
        Stats s = Stats.of(rs);
        if (s.errors > 0) {
            notes.add(s.errors + " failed operations in one set of repetitions (see the console)");
        }
        return s;
    }

    interface ThrowingSupplier<T> {
        T get() throws Exception;
    }

    private void saveRow(String what, int clients, Stats s, Stats a, Stats b, String commits) {
        String ra = a == null ? "" : String.format(Locale.ROOT, "%.2f", s.median / a.median);
        String rb = b == null ? "" : String.format(Locale.ROOT, "%.2f", s.median / b.median);
        saveRows.add(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s |", what, clients, s.range(),
                s.latency(), commits, ra, rb));
        System.out.println(saveRows.get(saveRows.size() - 1));
    }

    private void readRow(String what, int clients, Stats s, Stats raw) {
        readRows.add(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s |", what, clients, s.range(), s.latency(),
                raw == null ? "" : String.format(Locale.ROOT, "%.2f / %.2f", s.median / raw.median, s.p99 / raw.p99)));
        System.out.println(readRows.get(readRows.size() - 1));
    }

    private void cpuRow(String what, int clients, Stats s, Stats baseline, double jitUs) {
        cpuRows.add(String.format(Locale.ROOT, "| %s | %d | %s | %.0f | %.0f | %.0f | %.2f |", what, clients, s.range(),
                s.cpuJvmUs, jitUs, s.cpuPgUs, s.cpuJvmUs / baseline.cpuJvmUs));
        System.out.println(cpuRows.get(cpuRows.size() - 1));
    }

    private static String fmt2(Double v) {
        return v == null ? "–" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s[s.length / 2];
    }

    private List<UUID> users() {
        List<UUID> u = new ArrayList<>(USERS);
        for (int i = 0; i < USERS; i++) {
            u.add(UUID.randomUUID());
        }
        return u;
    }

    private static void waitUntil(Duration max, java.util.function.BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not done within " + max);
            }
            Thread.sleep(10); // polled: the measured time is the condition's, to within 10 ms
        }
    }

    // ----- the machine and the report ----------------------------------------------------------------

    private String durability() throws SQLException {
        StringBuilder sb = new StringBuilder();
        try (Connection c = dataSource().getConnection(); Statement st = c.createStatement()) {
            for (String s : List.of("synchronous_commit", "fsync", "wal_sync_method", "full_page_writes")) {
                try (ResultSet rs = st.executeQuery("SHOW " + s)) {
                    rs.next();
                    sb.append(sb.length() == 0 ? "" : ", ").append(s).append('=').append(rs.getString(1));
                }
            }
        }
        return sb.toString();
    }

    private Connection directConnection() throws SQLException {
        return DriverManager.getConnection(embedded().jdbcUrl(), embedded().user(), embedded().password());
    }

    private String machine() throws Exception {
        String cpu = "unknown CPU";
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            cpu = lines.filter(l -> l.startsWith("model name")).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
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
        String version = showOnPool("server_version");
        return String.format(Locale.ROOT, "%s, %d cores, %.0f GiB, load average at start %s, %s %s, JDK %s (%s), "
                        + "PostgreSQL %s embedded (zonky), pool %d", cpu, Runtime.getRuntime().availableProcessors(),
                memKb / 1048576.0, loadAverage(), System.getProperty("os.name"), System.getProperty("os.version"),
                System.getProperty("java.version"), System.getProperty("java.vm.name"), version, POOL);
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " / " + f[1] + " / " + f[2];
        } catch (IOException e) {
            return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
    }

    private String report(double minutes) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Benchmarks\n\n");
        sb.append("Produced by `mvn -B -Pbench verify` (").append(Instant.now().toString(), 0, 16).append("Z, ")
                .append(String.format(Locale.ROOT, "%.1f", minutes)).append(" min).\n\n");
        sb.append("Machine: ").append(machine).append("; load average at the end ").append(loadAverage()).append(".\n\n");
        sb.append("Durability, read back from the server in this run: ").append(durability)
                .append(". Every figure below is durable except the CPU view, which says so.\n\n");
        sb.append("Each figure is the median of ").append(REPS).append(" repetitions of ").append(SECONDS)
                .append(" s after ").append(WARMUPS).append(" warm-up runs, the min–max over the repetitions in brackets; ")
                .append("latencies are per operation in ms. Closed loop: each client sends its next request when the ")
                .append("previous one is answered. Saves go to ").append(USERS).append(" users per variant with fresh ")
                .append("agent ids each time (updates after the first round). Ratios are throughput divided by the ")
                .append("baseline's in the same run.\n\n");
        if (!saveRows.isEmpty()) {
            sb.append("## Saves (durable)\n\n");
            sb.append("(a) is the naive client: the service's two statements (sql/upsert-profile.sql, ")
                    .append("sql/settings-rpc.sql) in autocommit, two commits per save. (b) is the physical limit: ")
                    .append("the same two statements in one transaction. (c) is the disk's commit rate: a one-row ")
                    .append("insert per commit. All on the service's own pool. Commits per save are counted in ")
                    .append("PostgreSQL (pg_stat_database.xact_commit) over a run of each variant at ").append(MID)
                    .append(" clients (the same figure in each row of the variant), everything the variant commits included (the audit writer's rows too).\n\n");
            sb.append("| what | clients | saves/s | p50 ms | p99 ms | commits per save | ratio to (a) | ratio to (b) |\n");
            sb.append("|---|---|---|---|---|---|---|---|\n");
            saveRows.forEach(r -> sb.append(r).append('\n'));
            sb.append('\n');
        }
        if (!readRows.isEmpty()) {
            sb.append("## Reads\n\n");
            sb.append("| what | clients | reads/s | p50 ms | p99 ms | ratio to raw (throughput / p99) |\n");
            sb.append("|---|---|---|---|---|---|\n");
            readRows.forEach(r -> sb.append(r).append('\n'));
            sb.append('\n');
        }
        if (!outageRows.isEmpty()) {
            sb.append("## Outage (durable)\n\n");
            sb.append("HTTP PUT at ").append(MID).append(" clients, each save for a new user; the embedded ")
                    .append("PostgreSQL is stopped (fast shutdown) 1 s into the run. Production settings: 1 s pool ")
                    .append("timeout, breaker probe every 1 s; no scheduled sync pass (drain on return only). The ")
                    .append("right-hand column is issue 16's measurement before the change (PostgreSQL 15, wrk).\n\n");
            sb.append("| what | this run | issue 16, before |\n");
            sb.append("|---|---|---|\n");
            outageRows.forEach(r -> sb.append(r).append('\n'));
            sb.append('\n');
        }
        if (!drainRows.isEmpty()) {
            sb.append("## Sync drain (durable)\n\n");
            sb.append(String.format(Locale.ROOT, "%,d saves queued (direct:save) while the database is stopped; then ", DRAIN_ENTRIES))
                    .append("it starts, and the time runs until the local store is empty (both tables checked to hold ")
                    .append("every entry). Against it, the same entries written by a raw batched upsert for other ")
                    .append("users on a running database.\n\n");
            sb.append("| what | entries/s | from the server's start to empty | ratio to raw |\n");
            sb.append("|---|---|---|---|\n");
            drainRows.forEach(r -> sb.append(r).append('\n'));
            sb.append('\n');
        }
        if (!cpuRows.isEmpty()) {
            sb.append("## CPU view — synchronous_commit=off (NOT durable; for CPU only)\n\n");
            sb.append("With commits no longer waiting for the disk, what a save costs is CPU. JVM CPU per save is ")
                    .append("the process's CPU time (all threads: routes, Vert.x, pool, audit writer, GC) less the ")
                    .append("load generator's HTTP client threads, less its client threads for HTTP PUT (they only ")
                    .append("wait for answers; for direct:save and raw JDBC they do the work and count), and less the ")
                    .append("JIT compiler's threads, shown beside it: compiling is a start-up cost that a service up ")
                    .append("for hours has paid, and on this shared machine it was still going on after the warm-ups ")
                    .append("(until issue 20 the column counted both). The collector's work for the load generator's ")
                    .append("allocations still counts. PostgreSQL CPU per save is its processes' utime+stime from ")
                    .append("/proc. The ratio is JVM CPU per save against raw JDBC (b)'s. Per thread: see the notes.\n\n");
            sb.append("| what | clients | saves/s | JVM CPU µs/save | JIT compiler µs/save (not counted) | PostgreSQL CPU µs/save | JVM CPU ratio to (b) |\n");
            sb.append("|---|---|---|---|---|---|---|\n");
            cpuRows.forEach(r -> sb.append(r).append('\n'));
            sb.append('\n');
        }
        if (!targetRows.isEmpty()) {
            sb.append("## Targets (issue 20), judged on this run\n\n");
            sb.append("| target | this run | |\n");
            sb.append("|---|---|---|\n");
            targetRows.forEach(r -> sb.append(r).append('\n'));
            sb.append('\n');
        }
        if (!beforeAfter.isEmpty()) {
            sb.append(beforeAfter).append('\n');
        }
        if (!profileLines.isEmpty()) {
            sb.append("## Profile of a steady-state save run (JFR)\n\n");
            profileLines.forEach(l -> sb.append(l).append('\n'));
            sb.append('\n');
        }
        if (!notes.isEmpty()) {
            sb.append("## Notes\n\n");
            notes.forEach(n -> sb.append("- ").append(n).append('\n'));
            sb.append('\n');
        }
        return sb.toString();
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

    /** A statement of src/main/resources/sql/, its comment lines left out. */
    private static String sql(String resource) throws IOException {
        try (var in = BenchmarkSuite.class.getResourceAsStream(resource)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.strip().startsWith("--")).collect(Collectors.joining("\n")).strip();
        }
    }

    /** One save's two statements (sql/upsert-profile.sql, sql/settings-rpc.sql) on {@code c}, as the naive client sends them. */
    static void twoStatements(Connection c, String profileSql, String settingsSql, UUID user, String config, String fv)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(profileSql)) {
            ps.setString(1, user.toString());
            ps.setString(2, "bench");
            ps.setString(3, null);
            ps.setString(4, config);
            ps.setString(5, fv);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
            }
        }
        try (PreparedStatement ps = c.prepareStatement(settingsSql)) {
            ps.setString(1, user.toString());
            ps.setString(2, "bench");
            ps.setString(3, config);
            ps.setString(4, "{}");
            ps.setString(5, fv);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
            }
        }
    }
}
