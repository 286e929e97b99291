package dev.agentconfig.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import dev.agentconfig.observe.Tracing;
import dev.agentconfig.testing.KafkaBroker;
import dev.agentconfig.testing.ServiceTestSupport;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.main.MainConfigurationProperties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * The doors besides HTTP, traces on (an in-memory exporter). Kafka both ways: a save record with a W3C
 * {@code traceparent} header is saved in that trace, and the change feed's record of the save carries the
 * same trace in its {@code traceparent} header; no span holds the record's key ({@code tenantId:userId}). The
 * inbox: a message's receipt names the trace of its spans.
 */
class DoorTracesTest extends ServiceTestSupport {
    private static final KafkaBroker BROKER = KafkaBroker.shared();
    private static final String TOPIC = KafkaBroker.unique("saves");
    private static final String EVENTS = KafkaBroker.unique("events");
    static final InMemorySpanExporter SPANS = InMemorySpanExporter.create();

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
        BROKER.createTopic(TOPIC, 1);
        BROKER.createTopic(TOPIC + ".dlq", 1);
        BROKER.createTopic(EVENTS, 1);
        Properties p = new Properties();
        p.setProperty("agentconfig.kafka.bootstrap-servers", BROKER.bootstrapServers());
        p.setProperty("agentconfig.kafka.saves-topic", TOPIC);
        p.setProperty("agentconfig.kafka.group-id", KafkaBroker.unique("group"));
        p.setProperty("agentconfig.kafka.events-topic", EVENTS);
        p.setProperty("agentconfig.kafka.session-timeout", "6000");
        return p;
    }

    @Test
    void aRecordsTraceparentIsContinuedAndTheChangeFeedCarriesIt() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        String traceId = HexFormat.of().formatHex(randomBytes(16));
        String parent = HexFormat.of().formatHex(randomBytes(8));
        String traceparent = "00-" + traceId + "-" + parent + "-01";
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(TOPIC, tenant + ":" + user,
                ("{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user + "\",\"callAgentId\":\"agent_kafka_traced\"}")
                        .getBytes(StandardCharsets.UTF_8));
        record.headers().add("traceparent", traceparent.getBytes(StandardCharsets.US_ASCII));
        BROKER.producer().send(record).get(30, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(60)).until(() -> profileRow(user).isPresent());

        // the change feed's record of this save carries the producer's trace
        await().atMost(Duration.ofSeconds(30)).until(() -> BROKER.records(EVENTS).stream()
                .anyMatch(r -> (tenant + ":" + user).equals(r.key())));
        ConsumerRecord<String, byte[]> event = BROKER.records(EVENTS).stream()
                .filter(r -> (tenant + ":" + user).equals(r.key())).findFirst().orElseThrow();
        assertThat(KafkaBroker.header(event, "traceparent")).as("the change feed record's traceparent")
                .matches("00-" + traceId + "-[0-9a-f]{16}-[0-9a-f]{2}");

        // the door's spans are in the producer's trace, the consumer's span a child of the producer's span
        context.getRegistry().lookupByNameAndType("tracing", Tracing.class).flush();
        List<SpanData> trace = SPANS.getFinishedSpanItems().stream().filter(s -> s.getTraceId().equals(traceId)).toList();
        assertThat(trace).anySatisfy(s -> {
            assertThat(s.getParentSpanContext().getSpanId()).isEqualTo(parent);
            assertThat(String.valueOf(s.getAttributes().get(AttributeKey.stringKey("camel.uri")))).startsWith("kafka:");
        });
        assertThat(trace).anySatisfy(s -> assertThat(s.getName()).isEqualTo("save"));
        for (SpanData s : SPANS.getFinishedSpanItems()) {
            assertThat(s.getAttributes().toString()).doesNotContain(user.toString()).doesNotContain("agent_kafka_traced");
        }
    }

    @Test
    void theMetricsScrapeAndTheHealthProbeAreNotTraced() {
        for (String path : List.of("/observe/metrics", "/observe/health")) {
            HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + path))
                    .header("Authorization", "Bearer " + serviceToken).GET());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("X-Trace-Id")).as(path).isEmpty();
        }
        HttpResponse<String> traced = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/"
                + newTenant() + "/" + newUser())).header("Authorization", "Bearer " + serviceToken).GET());
        assertThat(traced.headers().firstValue("X-Trace-Id")).as("a read is traced").isPresent();
        context.getRegistry().lookupByNameAndType("tracing", Tracing.class).flush();
        assertThat(SPANS.getFinishedSpanItems()).noneSatisfy(s -> assertThat(
                String.valueOf(s.getAttributes().get(AttributeKey.stringKey("camel.uri")))).contains("observe"));
    }

    @Test
    void anInboxReceiptNamesItsTrace() throws Exception {
        String tenant = newTenant();
        UUID user = newUser();
        Path inbox = dataDir.resolve("inbox");
        Path tmp = dataDir.resolve("traced.json.partial");
        Files.writeString(tmp, "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + user
                + "\",\"smsAgentId\":\"agent_inbox_traced\"}");
        Files.move(tmp, inbox.resolve("traced.json"), StandardCopyOption.ATOMIC_MOVE);
        Path receipt = inbox.resolve(".done/traced.json");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(receipt));
        String traceId = json(Files.readString(receipt)).path("traceId").asText();
        assertThat(traceId).matches("[0-9a-f]{32}");
        context.getRegistry().lookupByNameAndType("tracing", Tracing.class).flush();
        assertThat(SPANS.getFinishedSpanItems()).filteredOn(s -> s.getTraceId().equals(traceId))
                .anySatisfy(s -> assertThat(String.valueOf(s.getAttributes().get(AttributeKey.stringKey("camel.uri"))))
                        .startsWith("file:"))
                .anySatisfy(s -> assertThat(s.getName()).isEqualTo("save"));
    }
}
