package dev.agentconfig.rotation;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.core.Failure;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.store.LocalStoreUnavailable;
import dev.agentconfig.store.StoreChange;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.SealedKeys;
import dev.agentconfig.transport.SealedKeys.ResealResult;
import dev.agentconfig.transport.SealedKeys.SealedKeyRow;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Key rotation: every stored API key re-sealed with the keyring's active key, in both tables and in the
 * local store, and every legacy plaintext key sealed, while the service keeps saving.
 *
 * <p>Safe against saves by construction: a table value is replaced only if it is still exactly the
 * envelope that was read (compare-and-set in the database, migration V5), at the same version; a local
 * entry only under its lock, if its value is still the one that was opened. A save made meanwhile has
 * another envelope and a newer version: it is never overwritten, and it never loses (its own write is
 * guarded by the version alone, which a re-seal does not change).
 *
 * <p>Resumable: nothing but "a rotation is under way" is persisted ({@code <data-dir>/key-rotation.json});
 * the work itself is idempotent: a run looks for what is still under another key, in batches by user id,
 * pass after pass until a pass finds nothing more it can re-seal. After a crash, the next start resumes it.
 *
 * <p>One rotation at a time per service; several instances may rotate the same database at once (the
 * compare-and-set makes that safe), each its own local store.
 */
public final class KeyRotation extends ServiceSupport {
    private static final Logger LOG = LoggerFactory.getLogger(KeyRotation.class);
    static final int MAX_PASSES = 5;
    private static final int ATTEMPTS = 4;
    private static final long PROGRESS_EVERY_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final CamelContext context;
    private final FieldCipher cipher;
    private final SealedKeys tables;
    private final LocalStore store;
    private final KeyUsage usage;
    private final AuditTrail audit;
    private final FailureClassifier classifier;
    private final int batchSize;
    private final Duration batchPause;
    private final RotationMarker marker;

    private final Counter resealedProfiles;
    private final Counter resealedSettings;
    private final Counter resealedLocal;
    private final Counter resealedLegacy;
    private final Counter skippedChanged;
    private final Counter skippedUnopenable;
    private final Counter skippedRefused;

    private ExecutorService executor;
    private Future<?> job;
    private volatile boolean stopping;
    private volatile Progress progress;
    private volatile RotationStatus lastStatus;

    public KeyRotation(CamelContext context, FieldCipher cipher, SealedKeys tables, LocalStore store, KeyUsage usage,
                       AuditTrail audit, FailureClassifier classifier, MeterRegistry meters, Path dataDir,
                       int batchSize, Duration batchPause) {
        this.context = context;
        this.cipher = cipher;
        this.tables = tables;
        this.store = store;
        this.usage = usage;
        this.audit = audit;
        this.classifier = classifier;
        this.batchSize = Math.max(1, batchSize);
        this.batchPause = batchPause;
        this.marker = new RotationMarker(dataDir);
        this.lastStatus = RotationStatus.idle(cipher.keyId());
        String resealed = METER_RESEALED;
        resealedProfiles = counter(meters, resealed, "location", KeyCensus.USER_PROFILES);
        resealedSettings = counter(meters, resealed, "location", KeyCensus.USER_SETTINGS);
        resealedLocal = counter(meters, resealed, "location", KeyCensus.LOCAL_STORE);
        resealedLegacy = counter(meters, resealed, "location", "legacy_plaintext");
        String skipped = METER_SKIPPED;
        skippedChanged = counter(meters, skipped, "reason", "changed");
        skippedUnopenable = counter(meters, skipped, "reason", "undecryptable");
        skippedRefused = counter(meters, skipped, "reason", "refused");
        Gauge.builder("agentconfig.keys.rotation.running", this, r -> r.status().running() ? 1 : 0)
                .description("1 while a key rotation runs").register(meters);
        Gauge.builder("agentconfig.keys.rotation.left", this, r -> r.status().left())
                .description("Values still to re-seal (an estimate while a rotation runs; counted at its end)")
                .register(meters);
        Gauge.builder("agentconfig.keys.rotation.rate", this, r -> r.status().ratePerSecond())
                .description("Values re-sealed per second by the running (or last) rotation").register(meters);
    }

    /** Counter.builder(METER_RESEALED): values re-sealed, by location; Counter.builder(METER_SKIPPED): by reason. */
    static final String METER_RESEALED = "agentconfig.keys.rotation.resealed";
    static final String METER_SKIPPED = "agentconfig.keys.rotation.skipped";

    private static Counter counter(MeterRegistry meters, String name, String tag, String value) {
        return Counter.builder(name).tag(tag, value)
                .description(name.endsWith("resealed") ? "Values re-sealed with the active key (durable)"
                        : "Values a rotation did not re-seal, by reason")
                .register(meters);
    }

    // ----- what the doors call ------------------------------------------------------------------

    /** Starts a rotation in the background, or answers the one running. */
    public synchronized RotationStatus startRotation() {
        return startRotation(false);
    }

    private synchronized RotationStatus startRotation(boolean resumed) {
        if (job != null && !job.isDone()) {
            return status();
        }
        if (executor == null || stopping) {
            throw new IllegalStateException("the service is stopping: no key rotation starts now");
        }
        Progress p = new Progress(cipher.keyId(), Instant.now(), System.nanoTime(), resumed);
        progress = p;
        job = executor.submit(() -> run(p));
        return status();
    }

    /**
     * Runs a rotation to its end in the calling thread (the rotate-keys command); one that the start
     * resumed in the background is waited for instead.
     */
    public RotationStatus runToCompletion() {
        Progress p;
        Future<?> running;
        synchronized (this) {
            running = job != null && !job.isDone() ? job : null;
            p = running != null ? null : new Progress(cipher.keyId(), Instant.now(), System.nanoTime(),
                    marker.read().isPresent());
            if (p != null) {
                progress = p;
            }
        }
        if (running != null) {
            try {
                running.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException e) {
                LOG.error("Key rotation failed", e.getCause());
            }
            return status();
        }
        return run(p);
    }

    /** At start: a rotation that a crash or a stop interrupted goes on. */
    public void resumeIfInterrupted() {
        Optional<RotationMarker.State> interrupted = marker.read();
        if (interrupted.isPresent()) {
            RotationMarker.State s = interrupted.get();
            LOG.info("Key rotation: the rotation started {} (to key {}, {} values re-sealed by then) did not finish; "
                    + "resuming it (to key {})", s.startedAt(), s.activeKeyId(), s.resealed(), cipher.keyId());
            startRotation(true);
        }
    }

    /** GET /api/v1/admin/keys: the keyring, the values each key seals (counted now), the rotation. */
    public Map<String, Object> report() {
        Map<String, Object> m = usage.refresh().toMap(cipher.keyring());
        m.put("rotation", status().toMap());
        return m;
    }

    public RotationStatus status() {
        Progress p = progress;
        return p == null || !p.running ? lastStatus : p.status(RotationStatus.RUNNING, null, null);
    }

    // ----- the job ------------------------------------------------------------------------------

    private RotationStatus run(Progress p) {
        String active = p.activeKeyId;
        RotationStatus end;
        try {
            marker.write(active, p.startedAt, 0);
            KeyCensus before = usage.refresh();
            if (!before.databaseCounted()) {
                throw new RotationFailed("the tables cannot be read (" + before.databaseError() + ")");
            }
            p.left.set(before.toReseal(active));
            LOG.info("Key rotation to key {} {}: {} values under other keys (by key id: {}), {} legacy plaintext keys; "
                    + "batches of {} users", active, p.resumed ? "resumed" : "started",
                    before.toReseal(active) - before.legacyPlaintext(),
                    before.describe(otherKeys(before, active)), before.legacyPlaintext(), batchSize);
            for (int pass = 1; pass <= MAX_PASSES && !stopping; pass++) {
                p.passes = pass;
                long done = p.resealed.get();
                localStorePass(p);
                tablesPass(p);
                if (p.resealed.get() == done) {
                    break; // nothing more this pass could re-seal: what is left cannot be (see the log)
                }
            }
            if (stopping) {
                end = finish(p, RotationStatus.INTERRUPTED, "the service stopped; the rotation resumes at the next "
                        + "start", false);
            } else {
                KeyCensus after = usage.refresh();
                long left = after.databaseCounted() ? after.toReseal(active) : p.left.get();
                p.left.set(left);
                end = left == 0
                        ? finish(p, RotationStatus.FINISHED, "every value is sealed with key " + active, true)
                        : finish(p, RotationStatus.INCOMPLETE, left + " values could not be re-sealed ("
                                + after.describe(otherKeys(after, active)) + ", legacy " + after.legacyPlaintext()
                                + "): see the log for each; run the rotation again once they are fixed", true);
            }
        } catch (RotationFailed e) {
            end = finish(p, RotationStatus.FAILED, e.getMessage() + "; run the rotation again", false);
        } catch (RuntimeException e) {
            LOG.error("Key rotation failed", e);
            end = finish(p, RotationStatus.FAILED, "unexpected failure (see the service log); run the rotation again",
                    false);
        }
        return end;
    }

    private static java.util.Set<String> otherKeys(KeyCensus census, String active) {
        java.util.Set<String> ids = new java.util.TreeSet<>(census.keyIdsInUse());
        ids.remove(active);
        return ids;
    }

    private RotationStatus finish(Progress p, String state, String detail, boolean done) {
        RotationStatus status = p.status(state, Instant.now(), detail);
        synchronized (this) {
            lastStatus = status;
            p.running = false;
        }
        if (done) {
            try {
                marker.remove();
            } catch (RuntimeException e) {
                LOG.warn("Key rotation: {}", e.getMessage());
            }
        }
        String line = "Key rotation to key {} {}: {} values re-sealed ({} legacy plaintext keys sealed), {} replaced "
                + "by saves meanwhile, {} failed, {} left; {} values/s over {} s, {} pass(es). {}";
        Object[] args = {status.activeKeyId(), state, status.resealed(), status.legacy(), status.changed(),
                status.failed(), status.left(), Math.round(status.ratePerSecond()),
                Duration.between(status.startedAt(), status.finishedAt()).toSeconds(), status.passes(), detail};
        if (RotationStatus.FINISHED.equals(state)) {
            LOG.info(line, args);
        } else {
            LOG.warn(line, args);
        }
        Map<String, Object> details = new LinkedHashMap<>(status.toMap());
        audit.record(new AuditEvent(Instant.now(), "key-rotation", null, null,
                RotationStatus.FINISHED.equals(state), details));
        return status;
    }

    /** Local entries whose key another key sealed: re-sealed under each entry's lock, written durably. */
    private void localStorePass(Progress p) {
        String active = p.activeKeyId;
        String field = Field.RETELL_API_KEY.json();
        for (UserKey key : store.sealedWithOtherKeyThan(active)) {
            if (stopping) {
                return;
            }
            String aad = Field.RETELL_API_KEY.associatedData(key.tenantId(), key.userId());
            String[] reason = new String[1];
            LocalOutcome outcome;
            try {
                outcome = store.update(key, current -> {
                    if (current.isEmpty()) {
                        return new StoreChange.Keep<>(LocalOutcome.NOTHING);
                    }
                    PendingEntry.FieldEntry f = current.get().fields().get(field);
                    if (f == null || f.value() == null || FieldCipher.keyIdOf(f.value()).isEmpty()
                            || cipher.sealedWithActiveKey(f.value())) {
                        return new StoreChange.Keep<>(LocalOutcome.NOTHING);
                    }
                    try {
                        String resealed = cipher.reseal(f.value(), aad);
                        return new StoreChange.Write<>(current.get().resealed(field, resealed, Instant.now()),
                                LocalOutcome.RESEALED);
                    } catch (FieldCipher.EnvelopeException e) {
                        reason[0] = e.getMessage();
                        return new StoreChange.Keep<>(LocalOutcome.UNOPENABLE);
                    }
                });
            } catch (LocalStoreUnavailable e) {
                throw new RotationFailed("the local store cannot be written (see the service log)");
            }
            if (outcome == LocalOutcome.RESEALED) {
                p.resealed.incrementAndGet();
                p.left.decrementAndGet();
                resealedLocal.increment();
            } else if (outcome == LocalOutcome.UNOPENABLE && p.failedOnce(KeyCensus.LOCAL_STORE + "/" + key)) {
                skippedUnopenable.increment();
                LOG.warn("Key rotation: the local entry of {} cannot be re-sealed: {}", key, reason[0]);
            }
            p.maybeLog();
        }
    }

    private enum LocalOutcome { RESEALED, NOTHING, UNOPENABLE }

    /** Both tables, in batches of users by user id. */
    private void tablesPass(Progress p) {
        UUID after = null;
        while (!stopping) {
            UUID from = after;
            List<SealedKeyRow> rows = withRetries("read a batch", () -> tables.toReseal(p.activeKeyId, from, batchSize));
            if (rows.isEmpty()) {
                return;
            }
            ResealPlan plan = ResealPlan.of(rows, cipher);
            for (ResealPlan.Unopenable u : plan.unopenable()) {
                if (!p.failedOnce(u.table() + "/" + u.tenantId() + "/" + u.userId())) {
                    continue; // named by an earlier pass already
                }
                skippedUnopenable.increment();
                LOG.warn("Key rotation: the key of {}/{} in {} cannot be re-sealed: {}", u.tenantId(), u.userId(),
                        u.table(), u.reason());
            }
            if (!plan.items().isEmpty()) {
                List<ResealResult> results = withRetries("re-seal a batch", () -> tables.reseal(plan.items()));
                for (int i = 0; i < plan.items().size(); i++) {
                    SealedKeys.Reseal item = plan.items().get(i);
                    ResealResult r = i < results.size() ? results.get(i)
                            : new ResealResult(0, 0, ResealResult.REFUSED, null);
                    tally(p, item, r);
                }
            }
            after = rows.get(rows.size() - 1).userId();
            p.maybeLog();
            if (p.markerDue()) {
                marker.write(p.activeKeyId, p.startedAt, p.resealed.get());
            }
            pause();
        }
    }

    private void tally(Progress p, SealedKeys.Reseal item, ResealResult r) {
        switch (r.result()) {
            case ResealResult.RESEALED -> {
                if (item.legacy()) {
                    p.resealed.incrementAndGet();
                    p.legacy.incrementAndGet();
                    p.left.decrementAndGet();
                    resealedLegacy.increment();
                } else {
                    p.resealed.addAndGet(r.values());
                    p.left.addAndGet(-r.values());
                    resealedProfiles.increment(r.profiles());
                    resealedSettings.increment(r.settings());
                }
            }
            case ResealResult.CHANGED -> {
                p.changed.incrementAndGet();
                skippedChanged.increment();
            }
            default -> {
                if (!p.failedOnce("refused/" + item.tenantId() + "/" + item.userId())) {
                    return;
                }
                skippedRefused.increment();
                LOG.warn("Key rotation: the database refused to re-seal the key of {}/{} ({})", item.tenantId(),
                        item.userId(), r.code());
            }
        }
    }

    private interface Call<T> {
        T run() throws Exception;
    }

    /** A failure reaching the database is retried a few times (1, 2, 4 s); then the rotation stops as failed. */
    private <T> T withRetries(String what, Call<T> call) {
        for (int attempt = 1; ; attempt++) {
            try {
                return call.run();
            } catch (Exception e) {
                Failure f = classifier.classify(e);
                if (attempt >= ATTEMPTS || stopping || !f.transientOrDrift()) {
                    // the message (host names, ...) goes to the log only: the status shows in health, which is open
                    LOG.error("Key rotation: could not {}: {} {}: {}", what, f.failureClass().id(), f.code(), f.message());
                    throw new RotationFailed("could not " + what + " (" + f.failureClass().id() + " " + f.code()
                            + ", see the service log)");
                }
                LOG.warn("Key rotation: could not {} ({} {}); trying again", what, f.failureClass().id(), f.code());
                sleep(Duration.ofSeconds(1L << (attempt - 1)));
            }
        }
    }

    private void pause() {
        if (!batchPause.isZero() && !batchPause.isNegative()) {
            sleep(batchPause);
        }
    }

    private void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        }
    }

    // ----- lifecycle ----------------------------------------------------------------------------

    @Override
    protected void doStart() {
        stopping = false;
        executor = context.getExecutorServiceManager().newSingleThreadExecutor(this, "key-rotation");
    }

    /** A running rotation stops after its current batch; its marker stays: the next start resumes it. */
    @Override
    protected void doStop() throws Exception {
        stopping = true;
        if (executor != null) {
            executor.shutdown();
            if (!executor.awaitTermination(20, TimeUnit.SECONDS)) {
                LOG.warn("Key rotation: still busy after 20 s of shutdown; it resumes at the next start");
            }
            context.getExecutorServiceManager().shutdownNow(executor);
            executor = null;
        }
    }

    /** The rotation cannot go on; the message says why (never a value). */
    private static final class RotationFailed extends RuntimeException {
        RotationFailed(String message) {
            super(message, null, false, false);
        }
    }

    /** One run's counters. */
    private final class Progress {
        final String activeKeyId;
        final Instant startedAt;
        final long startedNanos;
        final boolean resumed;
        final AtomicLong resealed = new AtomicLong();
        final AtomicLong legacy = new AtomicLong();
        final AtomicLong changed = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final AtomicLong left = new AtomicLong();
        /** The values that could not be re-sealed, each counted (and logged) once however many passes meet it. */
        private final java.util.Set<String> failures = java.util.concurrent.ConcurrentHashMap.newKeySet();
        volatile int passes;
        volatile boolean running = true;
        private long lastLog;
        private long lastMarker;

        Progress(String activeKeyId, Instant startedAt, long startedNanos, boolean resumed) {
            this.activeKeyId = activeKeyId;
            this.startedAt = startedAt;
            this.startedNanos = startedNanos;
            this.resumed = resumed;
            this.lastLog = startedNanos;
            this.lastMarker = startedNanos;
        }

        boolean failedOnce(String value) {
            if (failures.add(value)) {
                failed.incrementAndGet();
                return true;
            }
            return false;
        }

        double rate() {
            double seconds = (System.nanoTime() - startedNanos) / 1e9;
            return seconds <= 0 ? 0 : resealed.get() / seconds;
        }

        RotationStatus status(String state, Instant finishedAt, String detail) {
            return new RotationStatus(state, activeKeyId, startedAt, finishedAt, resealed.get(), legacy.get(),
                    changed.get(), failed.get(), Math.max(0, left.get()), rate(), passes, resumed, detail);
        }

        void maybeLog() {
            long now = System.nanoTime();
            if (now - lastLog >= PROGRESS_EVERY_NANOS) {
                lastLog = now;
                LOG.info("Key rotation to key {}: {} values re-sealed, about {} left, {} values/s (pass {})",
                        activeKeyId, resealed.get(), Math.max(0, left.get()), Math.round(rate()), passes);
            }
        }

        boolean markerDue() {
            long now = System.nanoTime();
            if (now - lastMarker >= PROGRESS_EVERY_NANOS) {
                lastMarker = now;
                return true;
            }
            return false;
        }
    }
}
