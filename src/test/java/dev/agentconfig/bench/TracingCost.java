package dev.agentconfig.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Executors;

import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * The cost of tracing (observe/Tracing): HTTP PUT saves with tracing off ({@link TracingCostOff}) and on ({@link TracingCostOn}: every
 * span exported over OTLP http/protobuf by the batch processor to a collector stand-in on this machine that
 * answers 200), in one run: {@code mvn -B -o -Dtest='TracingCost*' -Dsurefire.runOrder=alphabetical
 * -Dsurefire.failIfNoSpecifiedTests=false test}. Each variant: 2 warm-up runs, then 3 repetitions of 4 s at 1
 * and 8 clients; the medians go to target/bench-tracing.txt (docs/benchmarks.md "Tracing on and off").
 */
abstract class TracingCost extends ServiceTestSupport {
    private static final int REPS = 3;
    private static final double SECONDS = 4;

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .executor(Executors.newFixedThreadPool(8)).build();

    @Test
    void httpSaves() throws Exception {
        String variant = this instanceof TracingCostOn ? "on" : "off";
        String tenant = newTenant();
        List<UUID> users = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            users.add(newUser());
        }
        Load.Op put = seq -> {
            UUID user = users.get((int) (seq % users.size()));
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/"
                            + tenant + "/" + user))
                    .header("Authorization", "Bearer " + serviceToken).header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"agent_" + seq + "\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("HTTP " + r.statusCode() + ": " + r.body());
            }
        };
        StringBuilder out = new StringBuilder();
        for (int clients : new int[] {1, 8}) {
            for (int w = 0; w < 2; w++) {
                Load.run(clients, SECONDS, put);
            }
            List<Load.Result> reps = new ArrayList<>();
            for (int r = 0; r < REPS; r++) {
                reps.add(Load.run(clients, SECONDS, put));
            }
            reps.sort(java.util.Comparator.comparingDouble(Load.Result::throughput));
            Load.Result median = reps.get(REPS / 2);
            assertThat(median.errors()).isZero();
            out.append(String.format(Locale.ROOT, "%s clients=%d saves/s=%.0f [%.0f-%.0f] p50=%.2fms p99=%.2fms%n",
                    variant, clients, median.throughput(), reps.get(0).throughput(), reps.get(REPS - 1).throughput(),
                    median.percentileMs(50), median.percentileMs(99)));
        }
        if (this instanceof TracingCostOn) {
            context.getRegistry().lookupByNameAndType("tracing", dev.agentconfig.observe.Tracing.class).flush();
            assertThat(TracingCostOn.EXPORTS.get()).as("spans reached the collector").isPositive();
            out.append(String.format(Locale.ROOT, "on: %d OTLP exports, %d bytes%n", TracingCostOn.EXPORTS.get(), TracingCostOn.BYTES.get()));
        }
        Path file = Path.of("target", "bench-tracing.txt");
        Files.writeString(file, out.toString(), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        System.out.print(out);
    }
}
