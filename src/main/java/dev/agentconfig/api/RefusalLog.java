package dev.agentconfig.api;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the HTTP server turns away before any route (malformed request, unknown path, wrong method,
 * body too large, a rate limit, a slow client cut off) costs one log line per interval at most,
 * whoever sends it and however fast: the first refusal of an interval is logged, the ones after it
 * are counted into the next line. A line holds the status, the reason, the method and the path
 * (never the query string), made printable ASCII and short: no caller can write into the log.
 */
public final class RefusalLog {
    private static final Logger LOG = LoggerFactory.getLogger(RefusalLog.class);

    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private final AtomicLong nextLineAt;
    private final AtomicLong suppressed = new AtomicLong();

    public RefusalLog(Duration interval) {
        this(interval, System::nanoTime);
    }

    RefusalLog(Duration interval, LongSupplier nanoTime) {
        this.intervalNanos = interval.toNanos();
        this.nanoTime = nanoTime;
        this.nextLineAt = new AtomicLong(nanoTime.getAsLong());
    }

    /** A refused request: {@code target} is the request target as sent (its query string is dropped here). */
    public void refused(int status, String reason, String method, String target) {
        long now = nanoTime.getAsLong();
        long due = nextLineAt.get();
        if (now - due < 0 || !nextLineAt.compareAndSet(due, now + intervalNanos)) {
            suppressed.incrementAndGet();
            return;
        }
        long more = suppressed.getAndSet(0);
        LOG.info("Refused a request before any route: {} {} ({} {}){}", status, reason,
                method == null ? "-" : Problem.sanitize(method), pathOf(target),
                more == 0 ? "" : "; " + more + " more refused since the previous line");
    }

    /** The path of a request target, printable ASCII, at most 80 characters, without query or fragment. */
    static String pathOf(String target) {
        if (target == null) {
            return "-";
        }
        int cut = target.length();
        for (char c : new char[] {'?', '#'}) {
            int i = target.indexOf(c);
            if (i >= 0 && i < cut) {
                cut = i;
            }
        }
        return Problem.sanitize(target.substring(0, cut));
    }
}
