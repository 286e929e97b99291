package dev.agentconfig.rotation;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.agentconfig.core.Failure;
import dev.agentconfig.crypto.Keyring;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.SealedKeys;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import org.apache.camel.CamelContext;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts what each key seals: both tables (one query, migration V5's {@code retell_key_usage}) and the
 * local store (its in-memory index: no file is read). The last count is kept for health and the
 * metrics ({@code agentconfig.keys.values{key_id, location, active}}, {@code agentconfig.keys.legacy.plaintext});
 * it is taken at start, after each rotation, on {@code GET /api/v1/admin/keys}, and every
 * {@code agentconfig.keys.usage-interval}.
 */
public final class KeyUsage extends ServiceSupport {
    private static final Logger LOG = LoggerFactory.getLogger(KeyUsage.class);

    private final CamelContext context;
    private final SealedKeys tables;
    private final LocalStore store;
    private final Keyring keyring;
    private final FailureClassifier classifier;
    private final Duration interval;
    private final MultiGauge values;
    private volatile KeyCensus last;
    private ScheduledExecutorService scheduler;
    private volatile Set<String> reportedMissing = Set.of();

    /** @param tables null when no transport can count the tables */
    public KeyUsage(CamelContext context, SealedKeys tables, LocalStore store, Keyring keyring,
                    FailureClassifier classifier, MeterRegistry meters, Duration interval) {
        this.context = context;
        this.tables = tables;
        this.store = store;
        this.keyring = keyring;
        this.classifier = classifier;
        this.interval = interval;
        this.values = MultiGauge.builder("agentconfig.keys.values")
                .description("Stored API keys sealed with each key id, by location (active: the key that seals)")
                .register(meters);
        Gauge.builder("agentconfig.keys.legacy.plaintext", this,
                        u -> u.last == null ? 0 : u.last.legacyPlaintext())
                .description("user_settings rows that still hold the seed's plaintext API key")
                .register(meters);
    }

    /** The last count, or null before the first. */
    public KeyCensus last() {
        return last;
    }

    /**
     * Counts now. A database that cannot be counted is reported in the census (and the local store is
     * counted all the same).
     */
    public synchronized KeyCensus refresh() {
        Map<String, Long> profiles = null;
        Map<String, Long> settings = null;
        long legacy = 0;
        long foreign = 0;
        String error = null;
        if (tables == null) {
            error = "no transport counts the tables";
        } else {
            try {
                SealedKeys.KeyCounts counts = tables.count();
                profiles = counts.profiles();
                settings = counts.settings();
                legacy = counts.legacyPlaintext();
                foreign = counts.foreign();
            } catch (Exception e) {
                Failure f = classifier.classify(e);
                error = f.failureClass().id() + " " + f.code();
                LOG.warn("Key usage: the tables could not be counted ({} {}: {})", f.failureClass().id(), f.code(),
                        f.message());
            }
        }
        KeyCensus census = new KeyCensus(Instant.now(), KeyCensus.copy(profiles), KeyCensus.copy(settings),
                store.sealedKeyIds(), legacy, foreign, error);
        last = census;
        publish(census);
        Set<String> missing = census.missingFrom(keyring);
        if (!missing.isEmpty() && !missing.equals(reportedMissing)) {
            LOG.error("Stored values are sealed with key(s) that are not in this service's keyring: {}. They read as "
                    + "undecryptable until the key is added (agentconfig.encryption.keys)", census.describe(missing));
        }
        reportedMissing = missing;
        return census;
    }

    private void publish(KeyCensus census) {
        Set<String> ids = new TreeSet<>(keyring.keyIds());
        ids.addAll(census.keyIdsInUse());
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (String id : ids) {
            String active = String.valueOf(id.equals(keyring.activeKeyId()));
            census.byLocation(id).forEach((location, n) -> {
                boolean counted = !location.equals(KeyCensus.LOCAL_STORE) ? census.databaseCounted() : true;
                if (counted) {
                    rows.add(MultiGauge.Row.of(Tags.of("key_id", id, "location", location, "active", active), n));
                }
            });
        }
        values.register(rows, true);
    }

    @Override
    protected void doStart() {
        if (interval.isZero() || interval.isNegative()) {
            return;
        }
        scheduler = context.getExecutorServiceManager().newSingleThreadScheduledExecutor(this, "key-usage");
        long ms = interval.toMillis();
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                refresh();
            } catch (RuntimeException e) {
                LOG.warn("Key usage: count failed: {}", e.toString());
            }
        }, ms, ms, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
        if (scheduler != null) {
            context.getExecutorServiceManager().shutdownNow(scheduler);
            scheduler = null;
        }
    }
}
