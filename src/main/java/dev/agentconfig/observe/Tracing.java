package dev.agentconfig.observe;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import dev.agentconfig.config.Beans;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.UserKey;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.opentelemetry2.OpenTelemetryTracer;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Traces (OpenTelemetry), configured in this one place and off unless an endpoint is configured
 * (agentconfig.tracing.otlp-endpoint, or the standard OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT). Camel's own
 * support (camel-opentelemetry2) makes the spans of every route and endpoint: each door (platform-http,
 * file, kafka, timer), the save's routes and target writes, parking, the sync's pass and batches, reads.
 * The SDK is built by its autoconfiguration, so every other OTEL_* variable (sampler, headers, protocol,
 * resource) is honoured; every span leaves through {@link SpanScrubber} (no secret, no agent id, hashed ids).
 *
 * <p>What Camel cannot know is added here: a parked save keeps the W3C traceparent of its request
 * ({@link #traceparent()}, kept in core/PendingEntry); the sync's replay of an entry is a span in that
 * trace ({@link #replaying}, ended by {@link #replayed}), linked both ways with the batch (the pass's
 * trace) that wrote it. A jdbc group commit is one span "group commit" ({@link #groupCommit}), linked to the
 * span of each save it holds ({@link #queuing}, taken on the caller's thread). Without an endpoint the bean is
 * {@link #OFF}: every method is a no-op.
 */
public class Tracing extends ServiceSupport implements CamelConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(Tracing.class);

    /** The service's own span attributes (SpanScrubber lets them out). */
    public static final String USER = "agentconfig.user";
    public static final String TENANT = "agentconfig.tenant";
    public static final String OUTCOME = "agentconfig.outcome";
    public static final String ENTRIES = "agentconfig.entries";
    public static final String PARKED_AT = "agentconfig.parked_at";
    /** A jdbc group commit's span (numbers only): its saves, its rounds, the saves it failed. */
    public static final String GROUP_SAVES = "agentconfig.group.saves";
    public static final String GROUP_ROUNDS = "agentconfig.group.rounds";
    public static final String GROUP_FAILED = "agentconfig.group.failed";

    /** What an entry keeps of the requests that parked it: the newest few traceparents. */
    public static final int TRACES_PER_ENTRY = PendingEntry.TRACES_KEPT;

    /** Tracing off: the bean features find when no endpoint is configured. */
    public static final Tracing OFF = new Tracing(null, null, null);

    private final OpenTelemetrySdk sdk;
    private final Tracer tracer;
    private final SpanScrubber ids;
    private final Map<UserKey, Span> replaying = new ConcurrentHashMap<>();

    /** The configuration (AppConfiguration's feature list); binds the bean "tracing" (OFF or on). */
    public Tracing() {
        this(null, null, null);
    }

    private Tracing(OpenTelemetrySdk sdk, Tracer tracer, SpanScrubber ids) {
        this.sdk = sdk;
        this.tracer = tracer;
        this.ids = ids;
    }

    @Override
    public void configure(CamelContext context) throws Exception {
        TracingSettings settings = TracingSettings.from(context, System.getenv());
        // an exporter bound by whoever embeds the service (a test's in-memory exporter): used instead of OTLP
        SpanExporter bound = Beans.optional(context, "spanExporter", SpanExporter.class);
        if (settings.otlpEndpoint().isEmpty() && bound == null) {
            context.getRegistry().bind("tracing", OFF);
            LOG.info("Tracing is off (no agentconfig.tracing.otlp-endpoint)");
            return;
        }
        OpenTelemetrySdk sdk = sdk(settings, bound);
        Tracing on = new Tracing(sdk, sdk.getTracer("agent-config-sync"), new SpanScrubber(SpanExporter.composite(),
                settings));
        context.getRegistry().bind("tracing", on);
        // camel-opentelemetry2 finds its tracer and propagators in the registry (one of each)
        context.getRegistry().bind("openTelemetryTracer", io.opentelemetry.api.trace.Tracer.class,
                sdk.getTracer("camel"));
        context.getRegistry().bind("openTelemetryPropagators", ContextPropagators.class, sdk.getPropagators());
        OpenTelemetryTracer camel = new OpenTelemetryTracer();
        camel.setExcludePatterns(settings.exclude().isEmpty() ? null : settings.exclude());
        camel.init(context);
        context.addService(on, true, true); // flushes and shuts the SDK down with the context
        LOG.info("Tracing is on: spans to {} (ids {})", bound != null ? "the bound exporter"
                : settings.otlpEndpoint().get(), settings.ids().name().toLowerCase(java.util.Locale.ROOT));
    }

    private static OpenTelemetrySdk sdk(TracingSettings settings, SpanExporter bound) {
        return AutoConfiguredOpenTelemetrySdk.builder()
                .addPropertiesSupplier(() -> {
                    Map<String, String> defaults = new java.util.HashMap<>();
                    defaults.put("otel.service.name", settings.serviceName());
                    defaults.put("otel.metrics.exporter", "none"); // metrics: Prometheus (/observe/metrics)
                    defaults.put("otel.logs.exporter", "none");
                    defaults.put("otel.traces.exporter", bound != null ? "none" : "otlp");
                    defaults.put("otel.propagators", "tracecontext");
                    settings.otlpEndpoint().ifPresent(e -> {
                        defaults.put("otel.exporter.otlp.traces.endpoint", e);
                        defaults.put("otel.exporter.otlp.traces.protocol", "http/protobuf");
                    });
                    return defaults;
                })
                // the configuration key wins over OTEL_EXPORTER_OTLP_TRACES_ENDPOINT when both are set
                .addPropertiesCustomizer(config -> settings.otlpEndpoint()
                        .map(e -> Map.of("otel.exporter.otlp.traces.endpoint", e)).orElse(Map.of()))
                .addSpanExporterCustomizer((exporter, config) -> new SpanScrubber(exporter, settings))
                .addTracerProviderCustomizer((builder, config) -> bound == null ? builder
                        : builder.addSpanProcessor(SimpleSpanProcessor.create(new SpanScrubber(bound, settings))))
                .disableShutdownHook()
                .build()
                .getOpenTelemetrySdk();
    }

    public boolean on() {
        return sdk != null;
    }

    /** The OpenTelemetry of the service (a no-op one when off). */
    public OpenTelemetry openTelemetry() {
        return sdk != null ? sdk : OpenTelemetry.noop();
    }

    /** The W3C traceparent of the span current on this thread (a Camel span of the request), or null. */
    public static String traceparent() {
        SpanContext c = Span.current().getSpanContext();
        if (!c.isValid()) {
            return null;
        }
        return "00-" + c.getTraceId() + "-" + c.getSpanId() + "-" + c.getTraceFlags().asHex();
    }

    /** The trace id of the span current on this thread, or null (no trace). */
    public static String traceId() {
        SpanContext c = Span.current().getSpanContext();
        return c.isValid() ? c.getTraceId() : null;
    }

    /** A W3C traceparent as a remote span context (invalid for anything else). */
    static SpanContext parse(String traceparent) {
        if (traceparent == null || traceparent.length() != 55 || !traceparent.startsWith("00-")) {
            return SpanContext.getInvalid();
        }
        String[] p = traceparent.split("-");
        if (p.length != 4) {
            return SpanContext.getInvalid();
        }
        try {
            return SpanContext.createFromRemoteParent(p[1], p[2], TraceFlags.fromHex(p[3], 0), TraceState.getDefault());
        } catch (RuntimeException e) {
            return SpanContext.getInvalid();
        }
    }

    /**
     * A parked entry taken up by the sync: a span "sync replay" in the trace of the newest request that
     * parked it (child of that request's span), linked to the batch span current here (the pass's trace)
     * and to the entry's other parked requests; the batch span gets a link to each of them. Ended by
     * {@link #replayed}.
     */
    public void replaying(PendingEntry entry) {
        if (tracer == null || entry.traceparents().isEmpty()) {
            return;
        }
        Span batch = Span.current();
        List<String> parked = entry.traceparents();
        SpanContext newest = parse(parked.get(parked.size() - 1));
        var builder = tracer.spanBuilder("sync replay").setSpanKind(SpanKind.INTERNAL)
                .setParent(newest.isValid() ? Context.root().with(Span.wrap(newest)) : Context.root())
                .setAttribute(USER, ids.id("u", entry.userId()))
                .setAttribute(TENANT, ids.id("t", entry.tenantId()))
                .setAttribute(PARKED_AT, entry.createdAt() == null ? "" : entry.createdAt());
        if (batch.getSpanContext().isValid()) {
            builder.addLink(batch.getSpanContext());
        }
        for (String t : parked) {
            SpanContext c = parse(t);
            if (c.isValid()) {
                if (!c.equals(newest)) {
                    builder.addLink(c);
                }
                batch.addLink(c);
            }
        }
        Span previous = replaying.put(entry.key(), builder.startSpan());
        if (previous != null) {
            previous.end(); // a replay that was never settled (its batch failed before settling)
        }
    }

    /** The replay of the user's entry settled: its outcome (drained, pending, quarantined, ...); the span ends. */
    public void replayed(UserKey user, String outcome) {
        if (tracer == null) {
            return;
        }
        Span span = replaying.remove(user);
        if (span != null) {
            span.setAttribute(AttributeKey.stringKey(OUTCOME), outcome);
            span.end();
        }
    }

    /** Runs {@code work} with the user's replay span (if one is open) current on this thread. */
    public void inReplay(UserKey user, Runnable work) {
        Span span = tracer == null ? null : replaying.get(user);
        if (span == null) {
            work.run();
            return;
        }
        try (var scope = span.makeCurrent()) {
            work.run();
        }
    }

    /**
     * The span a save (or a sync batch) is queued under for a group commit, taken on the caller's thread (the
     * writer thread has none of its own): the link of its group's span. Null when tracing is off or no span is
     * current.
     */
    public SpanContext queuing() {
        if (tracer == null) {
            return null;
        }
        SpanContext c = Span.current().getSpanContext();
        return c.isValid() ? c : null;
    }

    /**
     * A group commit of the jdbc writers (db/JdbcTargetWrites): a span "group commit" of its own (a root: a
     * group is no one save's), linked to the span each of its callers queued under ({@link #queuing}; null ones
     * skipped, each linked once). Null when tracing is off; ended by {@link #groupCommitted}.
     */
    public Span groupCommit(List<SpanContext> callers, int saves) {
        if (tracer == null) {
            return null;
        }
        var builder = tracer.spanBuilder("group commit").setSpanKind(SpanKind.INTERNAL).setNoParent()
                .setAttribute(GROUP_SAVES, (long) saves);
        java.util.Set<SpanContext> linked = new java.util.HashSet<>();
        for (SpanContext c : callers) {
            if (c != null && linked.add(c)) {
                builder.addLink(c);
            }
        }
        return builder.startSpan();
    }

    /** The group's span (null: tracing off) ended: its rounds, the saves it failed (any target), or its error. */
    public static void groupCommitted(Span span, int rounds, int failed, Throwable error) {
        if (span == null) {
            return;
        }
        span.setAttribute(GROUP_ROUNDS, (long) rounds);
        span.setAttribute(GROUP_FAILED, (long) failed);
        if (error != null || failed > 0) {
            span.setStatus(io.opentelemetry.api.trace.StatusCode.ERROR);
        }
        span.end();
    }

    /** Spans still buffered, exported now (a test, a benchmark; the context's stop does it too). */
    public void flush() {
        if (sdk != null) {
            sdk.getSdkTracerProvider().forceFlush().join(10, TimeUnit.SECONDS);
        }
    }

    @Override
    protected void doStop() {
        if (sdk != null) {
            replaying.values().forEach(Span::end);
            replaying.clear();
            sdk.getSdkTracerProvider().forceFlush().join(10, TimeUnit.SECONDS);
            sdk.shutdown().join(10, TimeUnit.SECONDS);
        }
    }
}
