package dev.agentconfig.save;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import dev.agentconfig.config.Settings;
import dev.agentconfig.core.Changes;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.core.Origin;
import dev.agentconfig.core.SaveOutcome;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.transport.Backend;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.OneByOneWrites;
import org.apache.camel.CamelContext;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.builder.RouteConfigurationBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.spi.Resource;
import org.apache.camel.spi.RoutesLoader;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;

/**
 * Route save-agent-config on its own, in Camel's style: the YAML of routes/save.camel.yaml with its steps
 * advised ({@link AdviceWith}): the sealing and the answer taken out, the save's dead-letter channel (the local
 * store, direct:park-in-local-store) a {@link MockEndpoint}. Its one write step is the real failure policy
 * ({@link FailurePolicy}: breakers, in-request retry, classification) over a transport stub whose profile upsert
 * and settings RPC answer or throw as each test says. No database, no HTTP, no files: milliseconds.
 */
class SaveRouteAdviceTest extends CamelTestSupport {
    private final StubTransport transport = new StubTransport();

    /** The transport's two leaves, each answering or throwing as the test sets. */
    static final class StubTransport extends OneByOneWrites {
        volatile Exception profileFails;
        volatile Exception settingsFails;
        final AtomicInteger profileCalls = new AtomicInteger();
        final AtomicInteger settingsCalls = new AtomicInteger();

        StubTransport() {
            super(new FailureClassifier());
        }

        @Override
        protected TargetOutcome upsertProfile(SealedSave save) throws Exception {
            profileCalls.incrementAndGet();
            if (profileFails != null) {
                throw profileFails;
            }
            return TargetOutcome.written(Target.USER_PROFILES, save, Map.of());
        }

        @Override
        protected TargetOutcome callSettings(SealedSave save) throws Exception {
            settingsCalls.incrementAndGet();
            if (settingsFails != null) {
                throw settingsFails;
            }
            return TargetOutcome.written(Target.USER_SETTINGS, save, Map.of());
        }
    }

    @Override
    public boolean isUseAdviceWith() {
        return true;
    }

    @Override
    protected Properties useOverridePropertiesWithPropertiesComponent() {
        Properties p = new Properties();
        try (InputStream in = getClass().getResourceAsStream("/application.properties")) {
            p.load(in);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return p;
    }

    @Override
    protected CamelContext createCamelContext() throws Exception {
        CamelContext context = super.createCamelContext();
        context.getPropertiesComponent().setOverrideProperties(useOverridePropertiesWithPropertiesComponent());
        Backend reachable = new Backend() {
            @Override
            public boolean ready() {
                return true;
            }

            @Override
            public boolean reachable() {
                return true;
            }
        };
        TargetBreakers breakers = new TargetBreakers(Settings.from(context), new FailureClassifier(), reachable);
        // two attempts in all, as agentconfig.save.retry-attempts, without the wait
        context.getRegistry().bind("targetWrites",
                new FailurePolicy(transport, breakers, new FailureClassifier(), 2, Duration.ZERO));
        // the route's own steps: the clock followed for real (sealing and the answer are advised away)
        context.getRegistry().bind("saving", new Saving(null, new HybridLogicalClock(Clock.systemUTC(),
                Duration.ofHours(24)), null, null, null, null, Duration.ofSeconds(30)));
        // no legacy key is reported by the stub: the adoption is never asked (its parts are not needed)
        LegacyKeys legacyKeys = new LegacyKeys(null, null, null, null, null);
        context.getRegistry().bind("legacyKeys", legacyKeys);
        SaveDecisions.beans(legacyKeys).forEach(context.getRegistry()::bind);
        return context;
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteConfigurationBuilder() {
            @Override
            public void configuration() {
                routeConfiguration("propagate-errors").errorHandler(noErrorHandler());
            }
        };
    }

    /** The YAML route, advised: no sealing (the test sends a sealed save), the answer a plain SaveOutcome. */
    private MockEndpoint adviseSaveRoute() throws Exception {
        RoutesLoader loader = PluginHelper.getRoutesLoader(context);
        Resource yaml = ResourceHelper.resolveMandatoryResource(context, "file:routes/save.camel.yaml");
        loader.loadRoutes(yaml);
        AdviceWith.adviceWith(context, "save-agent-config", a -> {
            a.weaveById("seal").remove();
            a.weaveById("answer").replace().process(e -> e.getMessage().setBody(
                    SaveOutcome.of(e.getMessage().getBody(WriteResult.class))));
            a.mockEndpointsAndSkip("direct:park-in-local-store");
        });
        context.start();
        return getMockEndpoint("mock:direct:park-in-local-store");
    }

    private static SealedSave save() {
        return SealedSave.of(UserKey.of("t1", UUID.randomUUID().toString()), UUID.randomUUID(), 1_000L,
                Changes.of(Map.of(Field.CALL_AGENT_ID, "c1", Field.SMS_AGENT_ID, "s1")), Origin.HTTP, true);
    }

    private static WriteResult parked(MockEndpoint park) {
        return park.getReceivedExchanges().get(0).getMessage().getBody(WriteResult.class);
    }

    @Test
    void aSaveBothTablesTakeReachesNoDeadLetter() throws Exception {
        MockEndpoint park = adviseSaveRoute();
        park.expectedMessageCount(0);

        SaveOutcome outcome = template.requestBody("direct:save", save(), SaveOutcome.class);

        park.assertIsSatisfied();
        assertThat(outcome.status()).isEqualTo(SaveOutcome.SAVED);
        assertThat(transport.profileCalls).hasValue(1);
        assertThat(transport.settingsCalls).hasValue(1);
    }

    /** A CHECK violation of user_profiles: that target quarantined and parked, user_settings saved. */
    @Test
    void aRefusedProfileUpsertReachesTheDeadLetterChannelQuarantined() throws Exception {
        MockEndpoint park = adviseSaveRoute();
        park.expectedMessageCount(1);
        transport.profileFails = new SQLException("new row violates check constraint \"test_refuse\"", "23514");

        SaveOutcome outcome = template.requestBody("direct:save", save(), SaveOutcome.class);

        park.assertIsSatisfied();
        WriteResult result = parked(park);
        assertThat(result.toPark()).containsOnlyKeys(Target.USER_PROFILES);
        assertThat(result.state(Target.USER_PROFILES)).isEqualTo(TargetState.QUARANTINED);
        assertThat(result.outcome(Target.USER_PROFILES).orElseThrow().failure().code()).isEqualTo("23514");
        assertThat(result.state(Target.USER_SETTINGS)).isEqualTo(TargetState.SAVED);
        assertThat(outcome.status()).isEqualTo(SaveOutcome.QUARANTINED);
        // refused data is not retried
        assertThat(transport.profileCalls).hasValue(1);
    }

    /** A settings RPC that throws (a lost connection): retried once in the request, then parked as queued. */
    @Test
    void aSettingsRpcThatThrowsIsRetriedThenReachesTheDeadLetterChannelQueued() throws Exception {
        MockEndpoint park = adviseSaveRoute();
        park.expectedMessageCount(1);
        transport.settingsFails = new SQLException("An I/O error occurred while sending to the backend.", "08006");

        SaveOutcome outcome = template.requestBody("direct:save", save(), SaveOutcome.class);

        park.assertIsSatisfied();
        WriteResult result = parked(park);
        assertThat(result.toPark()).containsOnlyKeys(Target.USER_SETTINGS);
        assertThat(result.state(Target.USER_SETTINGS)).isEqualTo(TargetState.QUEUED);
        assertThat(result.outcome(Target.USER_SETTINGS).orElseThrow().failure().code()).isEqualTo("08006");
        assertThat(result.state(Target.USER_PROFILES)).isEqualTo(TargetState.SAVED);
        assertThat(outcome.status()).isEqualTo(SaveOutcome.QUEUED);
        assertThat(transport.settingsCalls).as("the first attempt and one retry").hasValue(2);
        assertThat(transport.profileCalls).as("the profile, saved, is not written again").hasValue(1);
    }

    /** Both failing: one message to the dead-letter channel with both targets (one local-store write per save). */
    @Test
    void bothTargetsFailingReachTheDeadLetterChannelOnceWithBoth() throws Exception {
        MockEndpoint park = adviseSaveRoute();
        park.expectedMessageCount(1);
        transport.profileFails = new SQLException("new row violates check constraint \"test_refuse\"", "23514");
        transport.settingsFails = new IllegalStateException("the RPC's answer could not be read");

        SaveOutcome outcome = template.requestBody("direct:save", save(), SaveOutcome.class);

        park.assertIsSatisfied();
        WriteResult result = parked(park);
        assertThat(result.toPark()).containsOnlyKeys(Target.USER_PROFILES, Target.USER_SETTINGS);
        assertThat(result.state(Target.USER_PROFILES)).isEqualTo(TargetState.QUARANTINED);
        // an unknown failure is retried later rather than quarantined: the data is not known to be at fault
        assertThat(result.state(Target.USER_SETTINGS)).isEqualTo(TargetState.QUEUED);
        assertThat(result.outcome(Target.USER_SETTINGS).orElseThrow().failure().code()).isEqualTo("unknown");
        assertThat(outcome.status()).isEqualTo(SaveOutcome.QUARANTINED);
    }
}
