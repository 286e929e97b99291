package dev.agentconfig.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.health.HealthCheck;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The service's checks in a bare Camel context: how they share a probe and how they fail. */
class ServiceChecksTest {
    private DefaultCamelContext context;

    @BeforeEach
    void context() {
        context = new DefaultCamelContext();
        // as in the tests of the whole service: no result reused across invocations that do not overlap
        context.getPropertiesComponent().addInitialProperty("agentconfig.health.cache-ttl", "0s");
        context.start();
    }

    @AfterEach
    void stop() {
        context.stop();
    }

    private static Map<String, HealthCheck.Result> byId(Collection<HealthCheck.Result> results) {
        Map<String, HealthCheck.Result> byId = new java.util.LinkedHashMap<>();
        results.forEach(r -> byId.put(r.getCheck().getId(), r));
        return byId;
    }

    /**
     * Sixteen invocations at once while the probe is slow: one probe run answers all of them, and the
     * two checks of one invocation come from the same run. (Camel holds a lock per check while it calls
     * it: a probe run under that lock would make the waiting callers run it again, one after another.)
     */
    @Test
    void overlappingInvocationsShareOneProbeRun() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger runs = new AtomicInteger();
        ServiceChecks.probed(context, List.of("database", "schema"), () -> {
            int run = runs.incrementAndGet();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return List.of(CheckResult.up("database", "reachable", Map.of("run", run)),
                    CheckResult.up("schema", "complete", Map.of("run", run)));
        }, "database");
        ExecutorService pool = Executors.newFixedThreadPool(16);
        List<Thread> callers = new java.util.concurrent.CopyOnWriteArrayList<>();
        try {
            List<Future<Collection<HealthCheck.Result>>> answers = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                answers.add(pool.submit(() -> {
                    callers.add(Thread.currentThread());
                    return ServiceChecks.invoke(context);
                }));
            }
            // every caller waits: one in the probe, the others for its result
            await().atMost(Duration.ofSeconds(10)).until(() -> callers.size() == 16
                    && callers.stream().allMatch(t -> t.getState() == Thread.State.WAITING));
            release.countDown();
            for (var f : answers) {
                Map<String, HealthCheck.Result> results = byId(f.get(10, TimeUnit.SECONDS));
                assertThat(results.keySet()).containsExactly("database", "schema");
                assertThat(results.values()).allMatch(r -> r.getState() == HealthCheck.State.UP);
                assertThat(results.get("schema").getDetails().get("run")).isEqualTo(results.get("database").getDetails().get("run"));
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(runs.get()).isEqualTo(1);
    }

    @Test
    void oneInvocationRunsEachProbeOnce() {
        AtomicInteger runs = new AtomicInteger();
        ServiceChecks.probed(context, List.of("database", "schema"), () -> {
            runs.incrementAndGet();
            return List.of(CheckResult.up("database", "reachable", Map.of()), CheckResult.up("schema", "complete", Map.of()));
        }, "database");
        ServiceChecks.invoke(context);
        assertThat(runs.get()).isEqualTo(1);
    }

    /** The database probe may say "connection not valid" and then, closing it, "unreachable": the last word wins. */
    @Test
    void aNameReportedTwiceByItsProbeAnswersTheLastReport() {
        ServiceChecks.probed(context, List.of("database"), () -> List.of(
                CheckResult.down("database", "connection not valid", Map.of()),
                CheckResult.down("database", "unreachable (SQLSTATE 08003; see the service log)", Map.of("code", "08003"))),
                "database");
        HealthCheck.Result database = byId(ServiceChecks.invoke(context)).get("database");
        assertThat(database.getMessage()).hasValue("unreachable (SQLSTATE 08003; see the service log)");
        assertThat(database.getDetails()).containsEntry("code", "08003");
    }

    @Test
    void aProbeThatThrowsAnswersDownWithoutTheExceptionsText() {
        ServiceChecks.probed(context, List.of("database"), () -> {
            throw new IllegalStateException("jdbc:postgresql://db.internal:5432 password=hunter2");
        }, "database");
        ServiceChecks.computed(context, "backlog", () -> {
            throw new IllegalStateException("/var/lib/agent-config/local-store");
        });
        Map<String, HealthCheck.Result> results = byId(ServiceChecks.invoke(context));
        assertThat(results.keySet()).containsExactly("database", "backlog");
        results.values().forEach(r -> {
            assertThat(r.getState()).isEqualTo(HealthCheck.State.DOWN);
            assertThat(r.getMessage()).hasValue("the check failed (see the service log)");
            assertThat(r.getError()).isEmpty();
            assertThat(r.getDetails().toString()).doesNotContain("hunter2").doesNotContain("local-store");
        });
    }
}
