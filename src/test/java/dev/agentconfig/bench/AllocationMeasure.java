package dev.agentconfig.bench;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.management.ThreadMXBean;
import dev.agentconfig.testing.ServiceTestSupport;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

/**
 * What a save allocates and burns on the CPU, per save, at 8 clients with synchronous_commit=off (the suite's
 * CPU view conditions), for direct:save and HTTP PUT: the service's threads' allocated bytes and CPU time
 * (ThreadMXBean, the load generator's threads left out), and a JFR recording of an HTTP PUT run with the
 * profile settings (allocation samples with stacks) in target/alloc-put.jfr. Not part of the bench suite:
 * {@code mvn -B -o -Pbench test -Dtest=AllocationMeasure} (bench.seconds, bench.reps as the suite; bench.set:
 * settings to measure with, {@code key=value,...}).
 */
class AllocationMeasure extends ServiceTestSupport {
    private static final double SECONDS = Double.parseDouble(System.getProperty("bench.seconds", "3"));
    private static final int REPS = Integer.getInteger("bench.reps", 3);
    private static final int CLIENTS = 8;
    private static final int USERS = 1000;

    /** What the direct:save callers (the load's client threads, which run the route) allocate and burn in it. */
    private static final AtomicLong CALLER_BYTES = new AtomicLong();
    private static final AtomicLong CALLER_CPU_NS = new AtomicLong();

    private HttpClient http;

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.db.pool-size", "16");
        p.setProperty("agentconfig.db.connect-timeout", "1000ms");
        p.setProperty("agentconfig.db.statement-timeout", "2000ms");
        p.setProperty("agentconfig.sync.interval", "60m");
        p.setProperty("agentconfig.sync.initial-delay", "60m");
        // what a setting costs: e.g. -Dbench.set=camel.metrics.enableRoutePolicy=false (comma separated)
        for (String kv : System.getProperty("bench.set", "").split(",")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                p.setProperty(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
            }
        }
        return p;
    }

    @Test
    void measure() throws Exception {
        AtomicInteger n = new AtomicInteger();
        ExecutorService threads = Executors.newFixedThreadPool(40, r -> {
            Thread t = new Thread(r, "bench-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(threads).build();
        List<UUID> users = new ArrayList<>();
        for (int i = 0; i < USERS; i++) {
            users.add(UUID.randomUUID());
        }
        String db = (String) query("SELECT current_database() AS d").get(0).get("d");
        execute("ALTER DATABASE \"" + db + "\" SET synchronous_commit = off");
        database().forgetConnections(true);
        try {
            Load.Op route = seq -> {
                ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
                long b0 = mx.getCurrentThreadAllocatedBytes();
                long c0 = mx.getCurrentThreadCpuTime();
                Exchange ex = saveRoute("bench", users.get((int) (seq % USERS)),
                        "{\"callAgentId\":\"c" + seq + "\",\"smsAgentId\":\"s" + seq + "\"}");
                CALLER_BYTES.addAndGet(mx.getCurrentThreadAllocatedBytes() - b0);
                CALLER_CPU_NS.addAndGet(mx.getCurrentThreadCpuTime() - c0);
                if (ex.getException() != null) {
                    throw new IllegalStateException(ex.getException());
                }
            };
            Load.Op put = seq -> httpSave(users.get((int) (seq % USERS)), seq);
            for (int i = 0; i < 4; i++) {
                Load.run(CLIENTS, SECONDS, route);
                Load.run(CLIENTS, SECONDS, put);
            }
            for (int i = 0; i < REPS; i++) {
                measure("direct:save", route);
                measure("HTTP PUT", put);
            }
            Path jfr = Path.of("target", "alloc-put.jfr");
            Files.createDirectories(jfr.getParent());
            try (Recording recording = new Recording(Configuration.getConfiguration("profile"))) {
                recording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(
                        Integer.getInteger("bench.jfr.period", 10)));
                recording.start();
                Load.Result r = Load.run(CLIENTS, SECONDS * 2, put);
                recording.stop();
                recording.dump(jfr);
                System.out.printf(Locale.ROOT, "ALLOC JFR %s: %d saves%n", jfr, r.operations());
            }
        } finally {
            execute("ALTER DATABASE \"" + db + "\" RESET synchronous_commit");
            database().forgetConnections(true);
        }
    }

    private void measure(String what, Load.Op op) throws Exception {
        Map<String, long[]> before = perThread();
        CALLER_BYTES.set(0);
        CALLER_CPU_NS.set(0);
        Load.Result r = Load.run(CLIENTS, SECONDS, op);
        Map<String, long[]> after = perThread();
        Map<String, long[]> delta = new HashMap<>();
        after.forEach((k, v) -> {
            long[] b = before.getOrDefault(k, new long[2]);
            delta.put(k, new long[] {v[0] - b[0], v[1] - b[1]});
        });
        long ops = Math.max(1, r.operations());
        long bytes = CALLER_BYTES.get();
        long cpu = CALLER_CPU_NS.get();
        StringBuilder by = new StringBuilder();
        if (bytes > 0) {
            by.append(String.format(Locale.ROOT, " the callers (route) %.1f KB/%.0f µs;", bytes / 1024.0 / ops,
                    cpu / 1e3 / ops));
        }
        List<Map.Entry<String, long[]>> sorted = new ArrayList<>(delta.entrySet());
        sorted.sort((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]));
        for (Map.Entry<String, long[]> e : sorted) {
            String name = e.getKey();
            boolean load = name.startsWith("bench-") || name.startsWith("HttpClient-");
            if (load) {
                continue;
            }
            bytes += e.getValue()[0];
            cpu += e.getValue()[1];
            if (e.getValue()[0] / ops >= 1024) {
                by.append(String.format(Locale.ROOT, " %s %.1f KB/%.0f µs;", name, e.getValue()[0] / 1024.0 / ops,
                        e.getValue()[1] / 1e3 / ops));
            }
        }
        System.out.printf(Locale.ROOT, "ALLOC %s: %.0f saves/s, %.1f KB and %.0f µs CPU per save (service threads);%s%n",
                what, r.throughput(), bytes / 1024.0 / ops, cpu / 1e3 / ops, by);
    }

    /** Allocated bytes and CPU ns of the live threads, by name with the numbers left out. */
    private static Map<String, long[]> perThread() {
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        Map<String, long[]> out = new HashMap<>();
        for (var info : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (info == null) {
                continue;
            }
            long id = info.getThreadId();
            String name = info.getThreadName().replaceAll("\\d+", "#");
            long[] v = out.computeIfAbsent(name, k -> new long[2]);
            v[0] += Math.max(0, mx.getThreadAllocatedBytes(id));
            v[1] += Math.max(0, mx.getThreadCpuTime(id));
        }
        return out;
    }

    private void httpSave(UUID user, long seq) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/bench/"
                        + user))
                .header("Authorization", "Bearer " + serviceToken).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"c" + seq + "\",\"smsAgentId\":\"s" + seq + "\"}"))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200 && r.statusCode() != 202) {
            throw new IllegalStateException(r.statusCode() + " " + r.body());
        }
    }
}
