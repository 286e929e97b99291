package dev.agentconfig.save;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.agentconfig.core.Failure;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.WriteResult;
import dev.agentconfig.store.LocalStore;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an operator reads while the database cannot take saves: the first parked save in full, then one
 * summary line per interval (how many were parked, by target and failure class, and the oldest entry still
 * pending) instead of a line per save. Per-save detail stays at DEBUG and in the audit rows. When an
 * interval passes with nothing parked, the next parked save is logged in full again.
 */
public final class OutageLog extends ServiceSupport {
    private static final Logger LOG = LoggerFactory.getLogger(OutageLog.class);

    private final LocalStore store;
    private final Duration interval;
    private final Map<String, Integer> parked = new TreeMap<>();
    private boolean quiet = true;
    private Instant since;
    private ScheduledExecutorService timer;

    public OutageLog(LocalStore store, Duration interval) {
        this.store = store;
        this.interval = interval;
    }

    /** A save was parked in the local store for these targets. */
    public void parked(WriteResult result, Map<Target, Failure> failed) {
        parked(result, failed, "the local store");
    }

    /** A save was parked for these targets, in {@code place} (the local store, or the shared parking topic). */
    public synchronized void parked(WriteResult result, Map<Target, Failure> failed, String place) {
        if (quiet) {
            quiet = false;
            since = Instant.now();
            StringBuilder what = new StringBuilder();
            failed.forEach((t, f) -> what.append(what.length() == 0 ? "" : "; ").append(t.table()).append(": ")
                    .append(f.failureClass().id()).append(' ').append(f.code()).append(' ').append(f.message()));
            LOG.warn("Save {} for {} parked in {} ({}); further parked saves are summed up every {} s",
                    result.save().saveId(), result.save().user(), place, what, interval.toSeconds());
        }
        failed.forEach((t, f) -> parked.merge(t.table() + " " + f.failureClass().id() + " " + f.code(), 1, Integer::sum));
        if (LOG.isDebugEnabled()) {
            LOG.debug("Save {} for {} parked for {}", result.save().saveId(), result.save().user(), failed.keySet());
        }
    }

    /** One line for the interval that ended, if anything was parked in it. */
    synchronized void summarize() {
        if (parked.isEmpty()) {
            quiet = true;
            return;
        }
        Instant oldest = store.oldestPending().orElse(null);
        LOG.warn("Parked in the last {} s: {}; {} entries pending in the local store{}", interval.toSeconds(), parked,
                store.pendingCount(), oldest == null ? "" : ", the oldest since " + oldest);
        parked.clear();
    }

    @Override
    protected void doStart() {
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "outage-log");
            t.setDaemon(true);
            return t;
        });
        long ms = Math.max(100, interval.toMillis());
        timer.scheduleWithFixedDelay(this::summarize, ms, ms, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
        if (timer != null) {
            timer.shutdownNow();
        }
        summarize();
    }
}
