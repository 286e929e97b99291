package dev.agentconfig.save;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.Failures;
import dev.agentconfig.core.ReplayBatch;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.transport.ClassifiedFailureException;
import dev.agentconfig.transport.FailureClassifier;
import dev.agentconfig.transport.TargetWrites;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The failure policy, applied once, around the transport's {@link TargetWrites} (the bean {@code targetWrites}
 * that the save route, the legacy-key adoption and the sync's drain call):
 * <ul>
 *   <li><b>breakers</b> ({@link TargetBreakers}): a target whose breaker is open is not written (its saves are
 *       queued with {@link Failures#breakerOpen()}, nothing waits for the database); each call of the transport
 *       is one call of each target's breaker, counted as the failure decides
 *       ({@link Failure#countsAgainstBreaker()}); a failure that may mean "database gone" asks the probe at
 *       once ({@link TargetBreakers#tripIfUnreachable}), which opens every breaker;</li>
 *   <li><b>in-request retry</b>: a save's target that failed in a way worth retrying now
 *       ({@link Failure#retryableNow()}) is written again, up to {@code agentconfig.save.retry-attempts} attempts
 *       in all, {@code agentconfig.save.retry-delay} ms apart (doubling); a replay is not (the sync has its own
 *       backoff);</li>
 *   <li><b>classification</b>: what a failed target becomes (queued, quarantined, a tenant conflict) is
 *       {@link TargetOutcome#failed}, from the failure's class ({@code core/Failures}); a transport that throws
 *       (it should not) fails every target it had still to write, classified the same way.</li>
 * </ul>
 * What the save then does with a failed target (parks it in the local store, route save-agent-config) is the
 * save's own step, once per save.
 */
public final class FailurePolicy implements TargetWrites {
    private static final Logger LOG = LoggerFactory.getLogger(FailurePolicy.class);

    private final TargetWrites transport;
    private final TargetBreakers breakers;
    private final FailureClassifier classifier;
    private final int attempts;
    private final Duration retryDelay;
    private final List<Consumer<WriteResult>> onWritten = new CopyOnWriteArrayList<>();

    /**
     * @param attempts   attempts in all of a save's target within the request (agentconfig.save.retry-attempts)
     * @param retryDelay the wait before the first retry, doubled for each further one (agentconfig.save.retry-delay)
     */
    public FailurePolicy(TargetWrites transport, TargetBreakers breakers, FailureClassifier classifier, int attempts,
                         Duration retryDelay) {
        this.transport = transport;
        this.breakers = breakers;
        this.classifier = classifier;
        this.attempts = Math.max(1, attempts);
        this.retryDelay = retryDelay;
    }

    /**
     * Told of every result once its write is over (retries included), whatever the caller: a save, a reversion,
     * a legacy key's adoption, a replayed entry (e.g. read/LastKnownCopies#written). Must not throw.
     */
    public void onWritten(Consumer<WriteResult> listener) {
        onWritten.add(listener);
    }

    /** Route step: SealedSave -> WriteResult, the save's audit row committed with it when every target saved it. */
    public WriteResult save(SealedSave save) {
        return write(List.of(WriteResult.of(save)), SaveAudit::whenEveryTargetSaved).get(0);
    }

    /** The sync's batch: every entry written with its pending targets, as one group. */
    public ReplayBatch replay(ReplayBatch batch, AuditRow audit) {
        return batch.isEmpty() ? batch : new ReplayBatch(write(batch.entries(), audit));
    }

    @Override
    public List<WriteResult> write(List<WriteResult> group, AuditRow audit) {
        List<WriteResult> results = attempts(group, audit);
        for (Consumer<WriteResult> listener : onWritten) {
            for (WriteResult r : results) {
                try {
                    listener.accept(r);
                } catch (RuntimeException e) {
                    LOG.warn("After the write of {}: {}", r.save().user(), e.toString());
                }
            }
        }
        return results;
    }

    private List<WriteResult> attempts(List<WriteResult> group, AuditRow audit) {
        List<WriteResult> results = new ArrayList<>(group);
        long delay = retryDelay.toMillis();
        List<WriteResult> failedBefore = null;
        for (int attempt = 1; ; attempt++) {
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < results.size(); i++) {
                if (results.get(i).wantsProfile() || results.get(i).wantsSettings()) {
                    idx.add(i);
                }
            }
            if (idx.isEmpty()) {
                return results;
            }
            once(results, idx, audit);
            if (failedBefore != null) {
                keepFailuresOfBreakersOpened(failedBefore, results);
            }
            failedBefore = new ArrayList<>(results);
            if (attempt >= attempts || !retryWanted(results, idx)) {
                return results;
            }
            sleep(delay);
            delay *= 2;
        }
    }

    /** One call of the transport for the saves at {@code idx}, behind the breakers. */
    private void once(List<WriteResult> results, List<Integer> idx, AuditRow audit) {
        Map<Target, CircuitBreaker> permitted = new EnumMap<>(Target.class);
        for (Target t : Target.values()) {
            boolean wanted = idx.stream().anyMatch(i -> wants(results.get(i), t));
            if (!wanted) {
                continue;
            }
            CircuitBreaker b = breaker(t);
            if (b.tryAcquirePermission()) {
                permitted.put(t, b);
            } else {
                // the database is not asked: queued (a replay is deferred, not charged an attempt)
                for (int i : idx) {
                    if (wants(results.get(i), t)) {
                        results.set(i, results.get(i).with(TargetOutcome.failed(t, Failures.breakerOpen())));
                    }
                }
            }
        }
        List<WriteResult> call = new ArrayList<>(idx.size());
        List<Integer> called = new ArrayList<>(idx.size());
        for (int i : idx) {
            WriteResult r = results.get(i);
            if (r.wantsProfile() || r.wantsSettings()) {
                call.add(r);
                called.add(i);
            }
        }
        if (call.isEmpty()) {
            return;
        }
        long t0 = System.nanoTime();
        List<WriteResult> written;
        try {
            written = transport.write(call, audit);
        } catch (RuntimeException e) {
            Failure f = classifier.classify(e);
            LOG.warn("The write of {} saves failed unexpectedly ({} {}); their targets are parked", call.size(),
                    f.code(), f.message(), e);
            written = new ArrayList<>(call.size());
            for (WriteResult r : call) {
                WriteResult out = r;
                for (Target t : Target.values()) {
                    if (wants(out, t)) {
                        out = out.with(TargetOutcome.failed(t, f));
                    }
                }
                written.add(out);
            }
        }
        long took = System.nanoTime() - t0;
        for (int k = 0; k < called.size(); k++) {
            results.set(called.get(k), written.get(k));
        }
        Failure tripping = null;
        for (Map.Entry<Target, CircuitBreaker> p : permitted.entrySet()) {
            Failure counted = null;
            boolean answered = false;
            for (int k = 0; k < written.size(); k++) {
                TargetOutcome o = written.get(k).outcomes().get(p.getKey());
                if (o == null || call.get(k).outcomes().containsKey(p.getKey())) {
                    continue; // not written by this call
                }
                answered = true;
                Failure f = o.failure();
                if (counted == null && f != null && f.countsAgainstBreaker()) {
                    counted = f;
                }
            }
            CircuitBreaker b = p.getValue();
            if (!answered) {
                b.releasePermission();
            } else if (counted == null) {
                b.onSuccess(took, TimeUnit.NANOSECONDS); // written, or refused for its data: the database answers
            } else {
                b.onError(took, TimeUnit.NANOSECONDS, new ClassifiedFailureException(counted));
            }
            for (int k = 0; k < written.size() && tripping == null; k++) {
                TargetOutcome o = written.get(k).outcomes().get(p.getKey());
                if (o != null && !call.get(k).outcomes().containsKey(p.getKey()) && o.failure() != null
                        && o.failure().perhapsUnreachable()) {
                    tripping = o.failure();
                }
            }
        }
        if (tripping != null) {
            // the database out of reach: every target's breaker opens now, not after a window of failures
            breakers.tripIfUnreachable(tripping);
        }
    }

    /** Takes out the failed outcomes worth retrying now; true when there is one. */
    private boolean retryWanted(List<WriteResult> results, List<Integer> idx) {
        boolean any = false;
        for (int i : idx) {
            WriteResult r = results.get(i);
            if (r.save().replay()) {
                continue;
            }
            for (Target t : Target.values()) {
                TargetOutcome o = r.outcomes().get(t);
                if (o != null && o.failure() != null && o.failure().retryableNow()) {
                    r = r.without(t);
                    any = true;
                }
            }
            results.set(i, r);
        }
        return any;
    }

    /**
     * A retry that met a breaker the first attempt's failure opened keeps that failure (the database's own
     * words), not "breaker open".
     */
    private static void keepFailuresOfBreakersOpened(List<WriteResult> before, List<WriteResult> results) {
        for (int i = 0; i < results.size(); i++) {
            WriteResult r = results.get(i);
            for (Target t : Target.values()) {
                TargetOutcome now = r.outcomes().get(t);
                TargetOutcome was = before.get(i).outcomes().get(t);
                if (now != null && now.failure() != null && now.failure().breakerOpen() && was != null
                        && was.failure() != null) {
                    r = r.with(was);
                }
            }
            results.set(i, r);
        }
    }

    private static boolean wants(WriteResult r, Target t) {
        return t == Target.USER_PROFILES ? r.wantsProfile() : r.wantsSettings();
    }

    private CircuitBreaker breaker(Target t) {
        return t == Target.USER_PROFILES ? breakers.profile() : breakers.settings();
    }

    private static void sleep(long ms) {
        if (ms <= 0) {
            return;
        }
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
