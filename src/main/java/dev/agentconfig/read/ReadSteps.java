package dev.agentconfig.read;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.api.PathIdentity;
import dev.agentconfig.api.Problem;
import dev.agentconfig.core.Failure;
import dev.agentconfig.failure.FailureClassifier;
import dev.agentconfig.json.Json;
import dev.agentconfig.core.Field;
import dev.agentconfig.save.Identifiers;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.store.PendingEntry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of the read routes (routes/read.camel.yaml): what each location's branch does with
 * its answer, and how the readings become one result. The merge itself is {@link FieldMerge}.
 */
public final class ReadSteps {
    private static final Logger LOG = LoggerFactory.getLogger(ReadSteps.class);

    private final KeyReader keys;
    private final FailureClassifier classifier;
    private final LocalStore localStore;
    private final MeterRegistry meters;
    private final Timer readTimer;

    public ReadSteps(KeyReader keys, FailureClassifier classifier, LocalStore localStore, MeterRegistry meters) {
        this.keys = keys;
        this.classifier = classifier;
        this.localStore = localStore;
        this.meters = meters;
        this.readTimer = Timer.builder("agentconfig.read")
                .description("Reads of a user's configuration across the three locations")
                .register(meters);
    }

    /**
     * Validates tenant and user (400 otherwise) and opens the read. Whose configuration: the path's
     * identity as the front door checked it (PathIdentity), never a header or query parameter.
     */
    public void begin(Exchange exchange) {
        PathIdentity path = PathIdentity.of(exchange);
        String tenant = Identifiers.tenant(path.tenantId());
        UUID user = Identifiers.user(path.userId());
        exchange.getMessage().setBody(null);
        exchange.setProperty(ReadContext.PROPERTY, new ReadContext(tenant, user));
    }

    /** The named parameters of both table queries: the user AND the tenant, so another tenant finds nothing. */
    public Map<String, Object> queryParams(Exchange exchange) {
        ReadContext ctx = context(exchange);
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("userId", ctx.userId().toString());
        p.put("tenantId", ctx.tenantId());
        return p;
    }

    // ----- user_profiles ---------------------------------------------------------------------

    public LocationReading profileRead(Exchange exchange) {
        ReadContext ctx = context(exchange);
        Map<String, Object> row = firstRow(exchange);
        if (row == null) {
            return LocationReading.empty(Source.USER_PROFILES);
        }
        Instant updatedAt = instant(row.get("updated_at"));
        JsonNode versions = jsonObject(row.get("field_versions"));
        JsonNode config = jsonObject(row.get("agent_config"));
        Map<Field, FieldValue> fields = new EnumMap<>(Field.class);
        String envelope = (String) row.get("encrypted_retell_api_key");
        keyValue(ctx, Source.USER_PROFILES, envelope, false, versions, updatedAt).ifPresent(v -> fields.put(v.field(), v));
        agentIdValue(Source.USER_PROFILES, Field.CALL_AGENT_ID, config.get("call_agent_id"), versions, updatedAt)
                .ifPresent(v -> fields.put(v.field(), v));
        agentIdValue(Source.USER_PROFILES, Field.SMS_AGENT_ID, config.get("sms_agent_id"), versions, updatedAt)
                .ifPresent(v -> fields.put(v.field(), v));
        return LocationReading.found(Source.USER_PROFILES, fields, null, false, updatedAt);
    }

    // ----- user_settings ---------------------------------------------------------------------

    public LocationReading settingsRead(Exchange exchange) {
        ReadContext ctx = context(exchange);
        Map<String, Object> row = firstRow(exchange);
        if (row == null) {
            return LocationReading.empty(Source.USER_SETTINGS);
        }
        Instant updatedAt = instant(row.get("updated_at"));
        Instant keyUpdatedAt = instant(row.get("api_key_updated_at"));
        JsonNode versions = jsonObject(row.get("field_versions"));
        JsonNode config = jsonObject(row.get("retell_config"));
        JsonNode sealedKeys = jsonObject(row.get("encrypted_api_keys"));
        // the seed wrote the plaintext key into retell_config; it is read (and masked) until the
        // next save seals it, but an encrypted, versioned key always takes precedence over it
        JsonNode legacy = config.get("api_key");
        boolean legacyPresent = legacy != null && legacy.isTextual() && !legacy.asText().isEmpty();
        Map<Field, FieldValue> fields = new EnumMap<>(Field.class);
        JsonNode sealed = sealedKeys.get("retell_api_key");
        Optional<FieldValue> key = keyValue(ctx, Source.USER_SETTINGS, textOrNull(sealed), false, versions,
                keyUpdatedAt != null ? keyUpdatedAt : updatedAt);
        if (key.isEmpty() && legacyPresent) {
            key = keyValue(ctx, Source.USER_SETTINGS, legacy.asText(), true, versions, updatedAt);
        }
        key.ifPresent(v -> fields.put(v.field(), v));
        agentIdValue(Source.USER_SETTINGS, Field.CALL_AGENT_ID, config.get("call_agent_id"), versions, updatedAt)
                .ifPresent(v -> fields.put(v.field(), v));
        agentIdValue(Source.USER_SETTINGS, Field.SMS_AGENT_ID, config.get("sms_agent_id"), versions, updatedAt)
                .ifPresent(v -> fields.put(v.field(), v));
        return LocationReading.found(Source.USER_SETTINGS, fields, null, legacyPresent, updatedAt);
    }

    // ----- local store -----------------------------------------------------------------------

    /** The key's local entry, if any: its fields and its sync state. The file is read as-is (rename is atomic). */
    public LocationReading localRead(Exchange exchange) {
        ReadContext ctx = context(exchange);
        Optional<PendingEntry> found = localStore.read(ctx.tenantId(), ctx.userId().toString());
        if (found.isEmpty()) {
            return LocationReading.empty(Source.LOCAL_STORE);
        }
        PendingEntry entry = found.get();
        Map<Field, FieldValue> fields = new EnumMap<>(Field.class);
        entry.fields().forEach((name, fe) -> Field.byJson(name).ifPresent(field -> {
            String reason = field.secret()
                    ? keys.unreadableReason(ctx.tenantId(), ctx.userId(), fe.value(), false) : null;
            fields.put(field, new FieldValue(field, fe.value(), fe.version(), instantOfVersion(fe.version()),
                    Source.LOCAL_STORE, false, reason));
        }));
        return LocationReading.found(Source.LOCAL_STORE, fields, entry, false,
                entry.updatedAt() == null ? null : Instant.parse(entry.updatedAt()));
    }

    /** A location failed: classified once, reported in the answer, and the read goes on. */
    public LocationReading locationFailed(Exchange exchange) {
        Source source = Source.byId(exchange.getProperty(ReadContext.SOURCE_PROPERTY, String.class));
        Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        Failure failure = classifier.classify(error);
        ReadContext ctx = context(exchange);
        LOG.warn("Read of {}/{}: {} not readable ({} {}: {})", ctx.tenantId(), ctx.userId(), source.id(),
                failure.failureClass().id(), failure.code(), failure.message());
        return LocationReading.failed(source, failure);
    }

    // ----- merge -----------------------------------------------------------------------------

    /** The multicast is over (or timed out): freeze the readings and merge them per field. */
    public ReadResult merge(Exchange exchange) {
        ReadContext ctx = context(exchange);
        List<LocationReading> readings = ctx.close();
        for (LocationReading r : readings) {
            if (!r.status().answered()) {
                Counter.builder("agentconfig.read.location.failures")
                        .description("Locations that failed or timed out during a read")
                        .tag("location", r.source().id())
                        .tag("status", r.status().id())
                        .tag("class", r.failure() == null ? "timeout" : r.failure().failureClass().id())
                        .register(meters).increment();
                if (r.status() == LocationStatus.TIMEOUT) {
                    LOG.warn("Read of {}/{}: {} did not answer in time", ctx.tenantId(), ctx.userId(), r.source().id());
                }
            }
        }
        ReadResult result = new ReadResult(ctx.tenantId(), ctx.userId(), readings, FieldMerge.merge(readings));
        readTimer.record(System.nanoTime() - ctx.startedNanos(), TimeUnit.NANOSECONDS);
        exchange.setProperty(ReadResult.PROPERTY, result);
        return result;
    }

    /**
     * The answer of a read (the key masked). 404 when no location knows the user under this
     * tenant; 503 when nothing was found but a location could not be asked (it might hold the user).
     */
    public Map<String, Object> view(Exchange exchange) {
        ReadResult result = exchange.getProperty(ReadResult.PROPERTY, ReadResult.class);
        if (!result.found()) {
            if (result.allAnswered()) {
                throw Problem.notFound("no configuration is stored for user " + result.userId() + " under tenant "
                        + result.tenantId());
            }
            throw new Problem(503, "locations-unavailable", "The configuration cannot be read now",
                    "no location that answered knows user " + result.userId() + ", and some locations could not "
                            + "be read; retry later", Map.of("sources", ReadView.sources(result)));
        }
        return ReadView.of(result, keys);
    }

    // ----- helpers ---------------------------------------------------------------------------

    private Optional<FieldValue> keyValue(ReadContext ctx, Source source, String stored, boolean legacy,
                                          JsonNode versions, Instant rowUpdatedAt) {
        long version = legacy ? 0 : version(versions, Field.RETELL_API_KEY);
        if (stored == null && version == 0) {
            return Optional.empty();
        }
        String reason = keys.unreadableReason(ctx.tenantId(), ctx.userId(), stored, legacy);
        return Optional.of(new FieldValue(Field.RETELL_API_KEY, stored, version, updatedAt(version, rowUpdatedAt),
                source, legacy, reason));
    }

    private static Optional<FieldValue> agentIdValue(Source source, Field field, JsonNode stored, JsonNode versions,
                                                     Instant rowUpdatedAt) {
        long version = version(versions, field);
        String value = textOrNull(stored);
        if (value == null && version == 0) {
            return Optional.empty();
        }
        return Optional.of(new FieldValue(field, value, version, updatedAt(version, rowUpdatedAt), source, false, null));
    }

    private static long version(JsonNode versions, Field field) {
        JsonNode v = versions.get(field.json());
        return v != null && v.canConvertToLong() ? v.asLong() : 0;
    }

    /** A version is the save's acceptance time in microseconds: the field's own write time. */
    static Instant updatedAt(long version, Instant rowUpdatedAt) {
        return version > 0 ? instantOfVersion(version) : rowUpdatedAt;
    }

    static Instant instantOfVersion(long version) {
        return Instant.ofEpochSecond(version / 1_000_000L, (version % 1_000_000L) * 1_000L);
    }

    private static String textOrNull(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }

    private static JsonNode jsonObject(Object text) {
        if (text == null) {
            return Json.MAPPER.createObjectNode();
        }
        JsonNode node = Json.tree(text.toString());
        return node.isObject() ? node : Json.MAPPER.createObjectNode();
    }

    private static Instant instant(Object value) {
        if (value instanceof Timestamp ts) {
            return ts.toInstant();
        }
        if (value instanceof java.time.OffsetDateTime odt) {
            return odt.toInstant();
        }
        return null;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> firstRow(Exchange exchange) {
        Object body = exchange.getMessage().getBody();
        if (body instanceof List<?> rows && !rows.isEmpty()) {
            return (Map<String, Object>) rows.get(0);
        }
        return null;
    }

    static ReadContext context(Exchange exchange) {
        ReadContext ctx = exchange.getProperty(ReadContext.PROPERTY, ReadContext.class);
        if (ctx == null) {
            throw new IllegalStateException("no read in this exchange");
        }
        return ctx;
    }
}
