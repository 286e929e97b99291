package dev.agentconfig.save;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.UUID;

import dev.agentconfig.testing.ServiceTestSupport;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a save costs while the database is down and the breakers are open: it must not wait on
 * the dead database. The figure is logged (and reported), not asserted: timing thresholds in
 * tests only measure the machine.
 */
class OutageLatencyTest extends ServiceTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(OutageLatencyTest.class);

    @Test
    void savesDuringAnOutageAreQueuedWithoutWaitingOnTheDatabase() {
        String tenant = newTenant();
        stopDatabase();
        try {
            // open the breakers: the first saves pay the connection timeout
            while (!open(breaker("profileBreaker")) || !open(breaker("settingsBreaker"))) {
                assertThat(put(tenant, newUser(), "{\"callAgentId\":\"warm\"}").statusCode()).isEqualTo(202);
            }
            int n = 300;
            long[] http = new long[n];
            long[] route = new long[n];
            for (int i = 0; i < n; i++) {
                UUID user = newUser();
                long t0 = System.nanoTime();
                HttpResponse<String> r = put(tenant, user, "{\"callAgentId\":\"c" + i + "\",\"retellApiKey\":\"" + newKey() + "\"}");
                http[i] = System.nanoTime() - t0;
                assertThat(r.statusCode()).isEqualTo(202);
                assertThat(localEntry(tenant, user)).isPresent();

                UUID user2 = newUser();
                t0 = System.nanoTime();
                Exchange ex = saveRoute(tenant, user2, "{\"smsAgentId\":\"s" + i + "\"}");
                route[i] = System.nanoTime() - t0;
                assertThat(ex.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE)).isEqualTo(202);
            }
            LOG.info("Outage save latency, breakers open, {} saves each: HTTP PUT p50 {} ms p99 {} ms max {} ms; "
                            + "direct:save p50 {} ms p99 {} ms max {} ms",
                    n, ms(http, 50), ms(http, 99), ms(http, 100), ms(route, 50), ms(route, 99), ms(route, 100));
        } finally {
            startDatabase();
        }
    }

    private static boolean open(CircuitBreaker b) {
        return b.getState() == CircuitBreaker.State.OPEN || b.getState() == CircuitBreaker.State.FORCED_OPEN;
    }

    private static String ms(long[] nanos, int percentile) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        int idx = Math.min(sorted.length - 1, (int) Math.ceil(percentile / 100.0 * sorted.length) - 1);
        return String.format("%.1f", sorted[Math.max(idx, 0)] / 1e6);
    }
}
