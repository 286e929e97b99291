package dev.agentconfig.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Stream;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.testing.ServiceTestSupport;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.junit.jupiter.api.Test;

/**
 * Issue 21, item 3: the log says once per return that the database is back, and once per outage that the
 * sync found it out of reach, however many passes a return takes.
 */
class OutageLogLinesTest extends ServiceTestSupport {
    private static final String BACK = "The database is reachable again";
    private static final String OUT_OF_REACH = "Sync: the database is out of reach";

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.sync.interval", "1s");
        p.setProperty("agentconfig.breaker.probe-interval", "300ms");
        return p;
    }

    /**
     * The passes of one return that flaps: the database answers the probe, the pass's replay finds it gone,
     * the next pass is asked for 500 ms later, and so on. Before: each stopped pass logged the WARN line
     * (4 lines for 4 passes); after: the first one only, until a replay reaches the database again.
     */
    @Test
    void passesStoppedOneAfterTheOtherLogTheDatabaseOutOfReachOncePerOutage() {
        OutOfReachLog outOfReach = new OutOfReachLog();
        Failure refused = new Failure(FailureClass.TRANSIENT, "08001", "Connection refused");
        int mark = logs.lines().size();
        for (int pass = 0; pass < 4; pass++) {
            SyncPlan plan = SyncPlan.of(Instant.now(), List.of(key()), 200, outOfReach);
            plan.record(new ReplayOutcome(key(), ReplayOutcome.Result.DEFERRED, Map.of(), refused, true));
            assertThat(plan.stopped()).isTrue();
        }
        assertThat(countSince(mark, OUT_OF_REACH)).as(String.join("\n", logs.lines().subList(mark, logs.lines().size())))
                .isEqualTo(1);
        // a replay reached the database: the outage is over, the next one is logged again
        SyncPlan drained = SyncPlan.of(Instant.now(), List.of(key()), 200, outOfReach);
        drained.record(ReplayOutcome.of(key(), ReplayOutcome.Result.DRAINED));
        SyncPlan next = SyncPlan.of(Instant.now(), List.of(key()), 200, outOfReach);
        next.record(new ReplayOutcome(key(), ReplayOutcome.Result.DEFERRED, Map.of(), refused, true));
        assertThat(countSince(mark, OUT_OF_REACH)).isEqualTo(2);
    }

    /** Two real outages of the embedded database, each with a save parked: one "reachable again" line each. */
    @Test
    void eachReturnOfTheDatabaseIsLoggedOnceAsReachableAgain() throws Exception {
        String tenant = newTenant();
        int mark = logs.lines().size();
        for (int outage = 1; outage <= 2; outage++) {
            stopDatabase();
            UUID user = newUser();
            HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"call_" + outage + "\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            // the fault happened: the breakers are held open, the save waits in the local store
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() ->
                    breaker("profileBreaker").getState() == CircuitBreaker.State.FORCED_OPEN);
            assertThat(localEntry(tenant, user)).isPresent();
            startDatabase();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> profileRow(user).isPresent() && localEntry(tenant, user).isEmpty());
            int outages = outage;
            await().atMost(Duration.ofSeconds(10)).until(() -> countSince(mark, BACK) >= outages);
        }
        assertThat(pendingFiles(tenant)).isZero();
        List<String> lines = logs.lines().subList(mark, logs.lines().size());
        assertThat(countSince(mark, BACK)).as(String.join("\n", lines)).isEqualTo(2);
        assertThat(countSince(mark, OUT_OF_REACH)).as(String.join("\n", lines)).isLessThanOrEqualTo(2);
    }

    private int countSince(int mark, String needle) {
        List<String> lines = logs.lines();
        return (int) lines.subList(mark, lines.size()).stream().filter(l -> l.contains(needle)).count();
    }

    private long pendingFiles(String tenant) throws Exception {
        Path dir = dataDir.resolve("local-store").resolve(tenant);
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.count();
        }
    }

    private static UserKey key() {
        return UserKey.of("acme", UUID.randomUUID().toString());
    }
}
