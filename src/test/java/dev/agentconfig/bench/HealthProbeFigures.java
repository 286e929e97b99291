package dev.agentconfig.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * Figures, not a test of the suite (the name ends in neither Test nor Tests): how long /observe/health
 * takes to answer when 96 probes arrive at once, each round after the shared probe's cache expired.
 * Run with {@code mvn -B -q test -Dtest=HealthProbeFigures -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class HealthProbeFigures extends ServiceTestSupport {
    private static final int PROBES = 96;
    private static final int ROUNDS = Integer.getInteger("figures.rounds", 10);

    @Test
    void ninetySixParallelProbes() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        URI health = URI.create(baseUrl() + "/observe/health");
        var executor = Executors.newFixedThreadPool(PROBES);
        List<Double> latencies = new ArrayList<>();
        List<Double> rounds = new ArrayList<>();
        try {
            for (int round = -2; round < ROUNDS; round++) { // two warm-up rounds
                Thread.sleep(1_100); // agentconfig.health.cache-ttl (1s) expired: every round probes for real
                var start = new CountDownLatch(1);
                List<Future<Long>> answers = new ArrayList<>();
                for (int i = 0; i < PROBES; i++) {
                    answers.add(executor.submit(() -> {
                        start.await();
                        long t0 = System.nanoTime();
                        HttpResponse<String> r = client.send(HttpRequest.newBuilder(health).GET().build(),
                                HttpResponse.BodyHandlers.ofString());
                        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                        return System.nanoTime() - t0;
                    }));
                }
                long r0 = System.nanoTime();
                start.countDown();
                List<Long> these = new ArrayList<>();
                for (var f : answers) {
                    these.add(f.get(60, TimeUnit.SECONDS));
                }
                double wall = (System.nanoTime() - r0) / 1e6;
                if (round >= 0) {
                    these.forEach(n -> latencies.add(n / 1e6));
                    rounds.add(wall);
                }
            }
        } finally {
            executor.shutdownNow();
        }
        Collections.sort(latencies);
        Collections.sort(rounds);
        System.out.printf(Locale.ROOT, "FIGURES health, %d rounds of %d parallel probes: per probe median %.1f ms, "
                        + "p95 %.1f ms, max %.1f ms; a whole round median %.1f ms (min %.1f, max %.1f)%n",
                ROUNDS, PROBES, pct(latencies, 50), pct(latencies, 95), latencies.get(latencies.size() - 1),
                pct(rounds, 50), rounds.get(0), rounds.get(rounds.size() - 1));
    }

    private static double pct(List<Double> sorted, int p) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }
}
