package dev.agentconfig.observe;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.DelegatingSpanData;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;

/**
 * Every span on its way out, whatever set its attributes (Camel's span decorators record endpoint URIs,
 * HTTP URLs with their query, exception messages and log lines; a database's error message can quote a
 * row): only attributes of an allow-list leave, the {tenantId}/{userId} of a path hashed (or omitted), a
 * span name likewise; of an event only its name and kind (never its message). The API key and the agent
 * ids travel in bodies, which no span records; an exception message that quoted one is dropped here.
 */
public final class SpanScrubber implements SpanExporter {
    /** The attribute keys that may leave (everything else is dropped). */
    static final Set<String> ALLOWED = Set.of(
            "component", "op", "url.scheme", "url.path", "camel.uri", "http.method", "http.request.method",
            "http.status_code", "http.response.status_code", "http.url", "url.full", "error",
            "messaging.system", "messaging.destination.name", "messaging.kafka.partition", "kafka.partition",
            "kafka.offset", "messaging.kafka.offset", "exchangeId", "camel.exchangeId",
            // the service's own (observe/Tracing): hashed ids, outcomes, counts
            Tracing.USER, Tracing.TENANT, Tracing.OUTCOME, Tracing.ENTRIES, Tracing.PARKED_AT,
            Tracing.GROUP_SAVES, Tracing.GROUP_ROUNDS, Tracing.GROUP_FAILED);
    /** Event attributes that may leave: what happened, not what it said. */
    static final Set<String> EVENT_ALLOWED = Set.of("event", "error.kind");
    /** An agent-config path: /agent-config/{tenantId}/{userId}[/...]. */
    private static final Pattern IDENTITY = Pattern.compile("(/agent-config/)([^/?#\\s]+)/([^/?#\\s]+)");

    private final SpanExporter delegate;
    private final TracingSettings settings;

    public SpanScrubber(SpanExporter delegate, TracingSettings settings) {
        this.delegate = delegate;
        this.settings = settings;
    }

    @Override
    public CompletableResultCode export(Collection<SpanData> spans) {
        List<SpanData> out = new ArrayList<>(spans.size());
        for (SpanData span : spans) {
            out.add(scrub(span));
        }
        return delegate.export(out);
    }

    SpanData scrub(SpanData span) {
        Attributes attributes = attributes(span.getAttributes(), ALLOWED);
        List<EventData> events = new ArrayList<>(span.getEvents().size());
        for (EventData e : span.getEvents()) {
            events.add(EventData.create(e.getEpochNanos(), e.getName(), attributes(e.getAttributes(), EVENT_ALLOWED)));
        }
        List<LinkData> links = new ArrayList<>(span.getLinks().size());
        for (LinkData l : span.getLinks()) {
            links.add(LinkData.create(l.getSpanContext(), attributes(l.getAttributes(), ALLOWED)));
        }
        String name = text(span.getName());
        return new DelegatingSpanData(span) {
            @Override
            public String getName() {
                return name;
            }

            @Override
            public Attributes getAttributes() {
                return attributes;
            }

            @Override
            public List<EventData> getEvents() {
                return events;
            }

            @Override
            public List<LinkData> getLinks() {
                return links;
            }

            @Override
            public int getTotalAttributeCount() {
                return attributes.size();
            }
        };
    }

    @SuppressWarnings("unchecked")
    private Attributes attributes(Attributes in, Set<String> allowed) {
        AttributesBuilder b = Attributes.builder();
        in.forEach((key, value) -> {
            if (!allowed.contains(key.getKey())) {
                return;
            }
            if (value instanceof String s) {
                // a query string never leaves (?reveal=true is harmless, but a query is the caller's text)
                String kept = text(s);
                int query = kept.indexOf('?');
                b.put((AttributeKey<String>) key, query < 0 ? kept : kept.substring(0, query));
            } else {
                b.put((AttributeKey<Object>) key, value);
            }
        });
        return b.build();
    }

    /** A text with the tenant and user of an agent-config path hashed (or omitted). */
    String text(String s) {
        if (s == null || !s.contains("/agent-config/")) {
            return s;
        }
        Matcher m = IDENTITY.matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            if (m.group(2).startsWith("{")) {
                continue; // a route's template ({tenantId}/{userId}), not an id
            }
            m.appendReplacement(out, Matcher.quoteReplacement(m.group(1) + id("t", m.group(2)) + "/"
                    + id("u", m.group(3))));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** One id as a span may show it: "u:" and 16 hex digits of SHA-256(salt, id), or "u:-" (omitted). */
    String id(String kind, String id) {
        if (settings.ids() == TracingSettings.Ids.OMITTED) {
            return kind + ":-";
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(settings.idSalt().getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            byte[] digest = sha.digest(id.getBytes(StandardCharsets.UTF_8));
            return kind + ":" + HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public CompletableResultCode flush() {
        return delegate.flush();
    }

    @Override
    public CompletableResultCode shutdown() {
        return delegate.shutdown();
    }
}
