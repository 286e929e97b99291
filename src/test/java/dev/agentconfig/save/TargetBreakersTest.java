package dev.agentconfig.save;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.agentconfig.config.Settings;
import dev.agentconfig.core.Failure;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.transport.Backend;
import dev.agentconfig.transport.FailureClassifier;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

/**
 * The breakers against a database whose answer the test sets: a failure that looks like the database gone
 * is always examined (at once, or by the probe's next round when a probe ran less than an interval ago), the
 * database gone opens both breakers, and the probe closes them (and asks for the drain) when it is back.
 */
class TargetBreakersTest {
    private static final Failure REFUSED = new Failure(FailureClass.TRANSIENT, "08001", "Connection refused");

    private final AtomicBoolean answers = new AtomicBoolean(true);
    private final AtomicInteger probes = new AtomicInteger();
    private final Backend database = new Backend() {
        @Override
        public boolean ready() {
            return true;
        }

        @Override
        public boolean reachable() {
            probes.incrementAndGet();
            return answers.get();
        }
    };

    @Test
    void everyFailureThatLooksLikeAnOutageIsExaminedEvenWhenTheProbeRanJustBefore() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Properties p = new Properties();
            try (InputStream in = TargetBreakersTest.class.getResourceAsStream("/application.properties")) {
                p.load(in);
            }
            p.setProperty("agentconfig.breaker.probe-interval", "300ms");
            context.getPropertiesComponent().setInitialProperties(p);
            TargetBreakers breakers = new TargetBreakers(Settings.from(context), new FailureClassifier(), database);
            AtomicInteger backAgain = new AtomicInteger();
            breakers.onReachable(backAgain::incrementAndGet);
            breakers.start();
            try {
                // a passing failure while the database answers: asked at once, no breaker opens
                breakers.tripIfUnreachable(REFUSED);
                assertThat(probes.get()).isEqualTo(1);
                assertThat(breakers.profile().getState()).isEqualTo(CircuitBreaker.State.CLOSED);

                // the database goes away within the probe interval, and one save fails: not probed now (rate
                // limit) but on the probe's next round, which opens both breakers (before, this lone failure was
                // never examined: the breakers stayed closed and nothing drained on the database's return)
                answers.set(false);
                breakers.tripIfUnreachable(REFUSED);
                assertThat(probes.get()).isEqualTo(1);
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                        .until(() -> breakers.profile().getState() == CircuitBreaker.State.FORCED_OPEN
                                && breakers.settings().getState() == CircuitBreaker.State.FORCED_OPEN);

                // back: the probe closes both and asks for the drain on return
                answers.set(true);
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                        .until(() -> breakers.profile().getState() == CircuitBreaker.State.CLOSED
                                && breakers.settings().getState() == CircuitBreaker.State.CLOSED && backAgain.get() > 0);
                assertThat(backAgain.get()).isEqualTo(1);
            } finally {
                breakers.stop();
            }
        }
    }

    @Test
    void aFailureThatSaysNothingOfReachabilityAsksNoProbe() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Properties p = new Properties();
            try (InputStream in = TargetBreakersTest.class.getResourceAsStream("/application.properties")) {
                p.load(in);
            }
            context.getPropertiesComponent().setInitialProperties(p);
            TargetBreakers breakers = new TargetBreakers(Settings.from(context), new FailureClassifier(), database);
            breakers.tripIfUnreachable(new Failure(FailureClass.REJECTED, "23514", "check constraint"));
            breakers.tripIfUnreachable(new Failure(FailureClass.TRANSIENT, "57014", "statement timeout"));
            assertThat(probes.get()).isZero();
        }
    }
}
