package dev.agentconfig.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import dev.agentconfig.observe.Tracing;
import dev.agentconfig.testing.ServiceTestSupport;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.main.MainConfigurationProperties;
import org.junit.jupiter.api.Test;

/**
 * The jdbc group commit with traces on (an in-memory exporter, through observe/SpanScrubber): each group the
 * writers commit is one span "group commit", linked to the span "save" of each save it holds (in the trace of
 * its request, whose X-Trace-Id the door answered); its attributes are numbers (saves, rounds, failed), never
 * an id, a key or an agent id.
 */
class GroupCommitTraceTest extends ServiceTestSupport {
    static final InMemorySpanExporter SPANS = InMemorySpanExporter.create();
    private static final int SAVES = 12;

    /** Binds the in-memory exporter before the service's wiring looks for one (observe/Tracing). */
    public static final class BindExporter implements CamelConfiguration {
        @Override
        public void configure(CamelContext context) {
            context.getRegistry().bind("spanExporter", SPANS);
        }
    }

    @Override
    protected void configure(MainConfigurationProperties configuration) {
        configuration.addConfiguration(new BindExporter());
        super.configure(configuration);
    }

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.db.group-commit.writers", "1"); // groups form while the one writer commits
        return p;
    }

    @Test
    void eachGroupIsOneSpanLinkedToItsSaves() throws Exception {
        String tenant = newTenant();
        List<UUID> users = new ArrayList<>();
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        ExecutorService clients = Executors.newFixedThreadPool(SAVES);
        try {
            for (int i = 0; i < SAVES; i++) {
                UUID user = newUser();
                users.add(user);
                String json = "{\"callAgentId\":\"agent_group_traced_" + i + "\"}";
                answers.add(CompletableFuture.supplyAsync(() -> put(tenant, user, json), clients));
            }
            Set<String> saveTraces = new HashSet<>();
            for (CompletableFuture<HttpResponse<String>> a : answers) {
                HttpResponse<String> r = a.join();
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                saveTraces.add(r.headers().firstValue("X-Trace-Id").orElseThrow());
            }
            assertThat(saveTraces).hasSize(SAVES);

            context.getRegistry().lookupByNameAndType("tracing", Tracing.class).flush();
            List<SpanData> groups = SPANS.getFinishedSpanItems().stream()
                    .filter(s -> s.getName().equals("group commit")).toList();
            Set<String> linked = new HashSet<>();
            long saves = 0;
            for (SpanData g : groups) {
                g.getLinks().stream().map(LinkData::getSpanContext).forEach(c -> linked.add(c.getTraceId()));
                assertThat(saveTraces).as("a group is a trace of its own").doesNotContain(g.getTraceId());
                Long n = g.getAttributes().get(AttributeKey.longKey(Tracing.GROUP_SAVES));
                if (g.getLinks().stream().anyMatch(l -> saveTraces.contains(l.getSpanContext().getTraceId()))) {
                    saves += n;
                    assertThat(g.getAttributes().get(AttributeKey.longKey(Tracing.GROUP_ROUNDS))).isEqualTo(1L);
                    assertThat(g.getAttributes().get(AttributeKey.longKey(Tracing.GROUP_FAILED))).isZero();
                }
            }
            assertThat(linked).as("every save's trace is linked from its group's span").containsAll(saveTraces);
            assertThat(saves).as("the groups of these saves hold them all").isGreaterThanOrEqualTo(SAVES);
            // each link is to a span of its save's trace (the span "save", current when the save was queued)
            for (SpanData g : groups) {
                for (LinkData l : g.getLinks()) {
                    if (saveTraces.contains(l.getSpanContext().getTraceId())) {
                        assertThat(SPANS.getFinishedSpanItems()).anySatisfy(s -> assertThat(s.getSpanContext())
                                .isEqualTo(l.getSpanContext()));
                    }
                }
            }
            for (SpanData s : SPANS.getFinishedSpanItems()) {
                String attributes = s.getAttributes().toString();
                assertThat(attributes).doesNotContain(tenant).doesNotContain("agent_group_traced");
                for (UUID user : users) {
                    assertThat(attributes).doesNotContain(user.toString());
                }
            }
            Set<String> linkedNames = new HashSet<>();
            for (SpanData g : groups) {
                for (LinkData l : g.getLinks()) {
                    SPANS.getFinishedSpanItems().stream().filter(s -> s.getSpanContext().equals(l.getSpanContext()))
                            .forEach(s -> linkedNames.add(s.getName()));
                }
            }
            System.out.printf("group commit spans: %d for %d saves (links: %d traces, to spans named %s)%n",
                    groups.size(), SAVES, linked.size(), linkedNames);
        } finally {
            clients.shutdownNow();
        }
    }
}
