package dev.agentconfig.read;

import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.core.Failure;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.json.Json;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.StoredRow;
import dev.agentconfig.transport.TargetReads;
import dev.agentconfig.transport.TargetRows;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of the read route (routes/read.camel.yaml): each location's branch of the multicast
 * ({@link #profile}, {@link #settings}, {@link #localStore}: the location asked, its answer made a reading, its
 * failure made a reading too, so one failing location never fails the read), and how the readings become one
 * result. The merge itself is {@link FieldMerge}.
 */
public final class ReadSteps {
    private static final Logger LOG = LoggerFactory.getLogger(ReadSteps.class);
    private final TargetReads tables;
    private final KeyReader keys;
    private final FailureClassifier classifier;
    private final LocalStore localStore;
    private final LastKnownCopies lastKnown;
    private final MeterRegistry meters;
    private final Timer readTimer;
    private volatile ParkedSaves parked;

    /** @param tables the transport's reads of the two tables (bean {@code targetReads}) */
    public ReadSteps(TargetReads tables, KeyReader keys, FailureClassifier classifier, LocalStore localStore,
                     LastKnownCopies lastKnown, MeterRegistry meters) {
        this.tables = tables;
        this.keys = keys;
        this.classifier = classifier;
        this.localStore = localStore;
        this.lastKnown = lastKnown;
        this.meters = meters;
        this.readTimer = Timer.builder("agentconfig.read")
                .description("Reads of a user's configuration across the three locations")
                .register(meters);
    }

    // ----- the multicast's branches: one location each, its failure a reading -----------------

    /** Branch user_profiles: the transport's query, then its row as a reading. */
    public LocationReading profile(UserKey key) {
        try {
            return profileRead(tables.profile(key));
        } catch (Exception e) {
            return locationFailed(Source.USER_PROFILES, key, e);
        }
    }

    /** Branch user_settings: the transport's query, then its row as a reading. */
    public LocationReading settings(UserKey key) {
        try {
            return settingsRead(tables.settings(key));
        } catch (Exception e) {
            return locationFailed(Source.USER_SETTINGS, key, e);
        }
    }

    /** Branch local_store: {@link #localRead} (with Kafka parking, the parked topic's reading too). */
    public List<LocationReading> localStore(UserKey key) {
        try {
            return localRead(key);
        } catch (RuntimeException e) {
            return List.of(locationFailed(Source.LOCAL_STORE, key, e));
        }
    }

    // ----- user_profiles ---------------------------------------------------------------------

    public LocationReading profileRead(StoredRow<TargetRows.ProfileRecord> stored) {
        UserKey key = stored.key();
        if (stored.row().isEmpty()) {
            return LocationReading.empty(Source.USER_PROFILES);
        }
        TargetRows.ProfileRecord row = stored.row().get();
        Instant updatedAt = row.updatedAt();
        JsonNode versions = jsonObject(row.fieldVersions());
        JsonNode config = jsonObject(row.agentConfig());
        Map<Field, FieldValue> fields = new EnumMap<>(Field.class);
        keyValue(key, Source.USER_PROFILES, row.encryptedApiKey(), false, versions, updatedAt)
                .ifPresent(v -> fields.put(v.field(), v));
        agentIdValue(Source.USER_PROFILES, Field.CALL_AGENT_ID, config.get("call_agent_id"), versions, updatedAt)
                .ifPresent(v -> fields.put(v.field(), v));
        agentIdValue(Source.USER_PROFILES, Field.SMS_AGENT_ID, config.get("sms_agent_id"), versions, updatedAt)
                .ifPresent(v -> fields.put(v.field(), v));
        return LocationReading.found(Source.USER_PROFILES, fields, null, false, updatedAt);
    }

    // ----- user_settings ---------------------------------------------------------------------

    public LocationReading settingsRead(StoredRow<TargetRows.SettingsRecord> stored) {
        UserKey key = stored.key();
        if (stored.row().isEmpty()) {
            return LocationReading.empty(Source.USER_SETTINGS);
        }
        TargetRows.SettingsRecord row = stored.row().get();
        Instant updatedAt = row.updatedAt();
        Instant keyUpdatedAt = row.apiKeyUpdatedAt();
        JsonNode versions = jsonObject(row.fieldVersions());
        JsonNode config = jsonObject(row.retellConfig());
        JsonNode sealedKeys = jsonObject(row.encryptedApiKeys());
        // the seed wrote the plaintext key into retell_config; it is read (and masked) until the
        // next save seals it, but an encrypted, versioned key always takes precedence over it
        JsonNode legacy = config.get("api_key");
        boolean legacyPresent = legacy != null && legacy.isTextual() && !legacy.asText().isEmpty();
        Map<Field, FieldValue> fields = new EnumMap<>(Field.class);
        JsonNode sealed = sealedKeys.get("retell_api_key");
        Optional<FieldValue> keyValue = keyValue(key, Source.USER_SETTINGS, textOrNull(sealed), false, versions,
                keyUpdatedAt != null ? keyUpdatedAt : updatedAt);
        if (keyValue.isEmpty() && legacyPresent) {
            keyValue = keyValue(key, Source.USER_SETTINGS, legacy.asText(), true, versions, updatedAt);
        }
        keyValue.ifPresent(v -> fields.put(v.field(), v));
        agentIdValue(Source.USER_SETTINGS, Field.CALL_AGENT_ID, config.get("call_agent_id"), versions, updatedAt)
                .ifPresent(v -> fields.put(v.field(), v));
        agentIdValue(Source.USER_SETTINGS, Field.SMS_AGENT_ID, config.get("sms_agent_id"), versions, updatedAt)
                .ifPresent(v -> fields.put(v.field(), v));
        return LocationReading.found(Source.USER_SETTINGS, fields, null, legacyPresent, updatedAt);
    }

    // ----- local store (and the parked topic) ------------------------------------------------

    /**
     * Kafka parking on: the saves parked on the topic are read with the local store, by this branch
     * (kafka/KafkaConfiguration connects the view; a read asks only the local store until then).
     */
    public void connect(ParkedSaves parkedSaves) {
        this.parked = parkedSaves;
    }

    /**
     * The user's local entry, if any: its fields and its sync state. The file is read as-is (rename is atomic).
     * With Kafka parking, a second reading: what waits on the parked topic ({@link Source#PARKED_TOPIC}), timed
     * out when the view cannot show every save acknowledged before this read within its bound.
     */
    public List<LocationReading> localRead(UserKey key) {
        LocationReading local = localRead(key, localStore.read(key), Source.LOCAL_STORE);
        ParkedSaves parkedSaves = parked;
        if (parkedSaves == null) {
            return List.of(local);
        }
        LocationReading onTopic;
        try {
            onTopic = localRead(key, parkedSaves.pending(key), Source.PARKED_TOPIC);
        } catch (ParkedSaves.Behind e) {
            LOG.debug("Read of {}: the parked topic's view is behind ({})", key, e.getMessage());
            onTopic = LocationReading.timedOut(Source.PARKED_TOPIC);
        } catch (RuntimeException e) {
            // the view failed: that location's failure, never the local store's
            onTopic = LocationReading.failed(Source.PARKED_TOPIC, classifier.classify(e));
        }
        return List.of(local, onTopic);
    }

    /** A pending entry (the local store's, or the parked topic's) as the reading of its location. */
    private LocationReading localRead(UserKey key, Optional<PendingEntry> found, Source source) {
        if (found.isEmpty()) {
            return LocationReading.empty(source);
        }
        PendingEntry entry = found.get();
        Map<Field, FieldValue> fields = new EnumMap<>(Field.class);
        entry.fields().forEach((name, fe) -> Field.byJson(name).ifPresent(field -> {
            String reason = field.secret()
                    ? keys.unreadableReason(key.tenantId(), key.userId(), fe.value(), false) : null;
            fields.put(field, new FieldValue(field, fe.value(), fe.version(), HybridLogicalClock.instant(fe.version()),
                    source, false, reason));
        }));
        return LocationReading.found(source, fields, entry, false,
                entry.updatedAt() == null ? null : Instant.parse(entry.updatedAt()));
    }

    /** A location failed: classified once, reported in the answer, and the read goes on. */
    private LocationReading locationFailed(Source source, UserKey key, Exception error) {
        Failure failure = classifier.classify(error);
        LOG.warn("Read of {}: {} not readable ({} {}: {})", key, source.id(),
                failure.failureClass().id(), failure.code(), failure.message());
        return LocationReading.failed(source, failure);
    }

    // ----- merge -----------------------------------------------------------------------------

    /**
     * The multicast is over (or timed out): freeze the readings and merge them per field. The body is
     * the readings, or the user's key itself when no location answered in time. When both tables
     * answered, what they hold becomes the user's last-known copy; when one could not, that copy is one
     * more location of the merge (last in the tie order), so a value the tables cannot show now is
     * answered as last known instead of missing.
     */
    public ReadResult merge(Object collected) {
        Readings readings = collected instanceof Readings r ? r : new Readings((UserKey) collected);
        List<LocationReading> all = new ArrayList<>(readings.close());
        List<LocationReading> tables = all.stream().filter(r -> r.source().table()).toList();
        if (tables.stream().allMatch(r -> r.status().answered())) {
            lastKnown.confirm(readings.key(), FieldMerge.merge(tables));
        } else {
            lastKnown.reading(readings.key()).ifPresent(all::add);
        }
        for (LocationReading r : all) {
            if (!r.status().answered()) {
                Counter.builder("agentconfig.read.location.failures")
                        .description("Locations that failed or timed out during a read")
                        .tag("location", r.source().id())
                        .tag("status", r.status().id())
                        .tag("class", r.failure() == null ? "timeout" : r.failure().failureClass().id())
                        .register(meters).increment();
                if (r.status() == LocationStatus.TIMEOUT) {
                    LOG.warn("Read of {}: {} did not answer in time", readings.key(), r.source().id());
                }
            }
        }
        ReadResult result = new ReadResult(readings.key().tenantId(), readings.key().userId(), all, FieldMerge.merge(all));
        readTimer.record(System.nanoTime() - readings.startedNanos(), TimeUnit.NANOSECONDS);
        return result;
    }

    // ----- helpers ---------------------------------------------------------------------------

    private Optional<FieldValue> keyValue(UserKey key, Source source, String stored, boolean legacy,
                                          JsonNode versions, Instant rowUpdatedAt) {
        long version = legacy ? 0 : version(versions, Field.RETELL_API_KEY);
        if (stored == null && version == 0) {
            return Optional.empty();
        }
        String reason = keys.unreadableReason(key.tenantId(), key.userId(), stored, legacy);
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
        return version > 0 ? HybridLogicalClock.instant(version) : rowUpdatedAt;
    }

    private static String textOrNull(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }

    private static JsonNode jsonObject(String text) {
        if (text == null) {
            return Json.MAPPER.createObjectNode();
        }
        JsonNode node = Json.tree(text);
        return node.isObject() ? node : Json.MAPPER.createObjectNode();
    }
}
