package dev.agentconfig.audit;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes audit rows off the request path: saves only enqueue; one background thread inserts
 * batches. While the database is down, rows wait in memory (bounded) and are written when it
 * is back. An audit failure never fails a save: at worst a row is dropped and counted.
 */
public final class AuditTrail extends ServiceSupport {
    private static final Logger LOG = LoggerFactory.getLogger(AuditTrail.class);

    private final AuditSink sink;
    private final BlockingQueue<AuditEvent> queue;
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private volatile Thread writer;
    private volatile boolean running;

    public AuditTrail(AuditSink sink, int capacity) {
        this.sink = sink;
        this.queue = new ArrayBlockingQueue<>(capacity);
    }

    public void record(AuditEvent event) {
        while (!queue.offer(event)) {
            // full (a long outage): drop the oldest, keep the newest
            if (queue.poll() != null) {
                long n = dropped.incrementAndGet();
                if (n == 1 || n % 1000 == 0) {
                    LOG.warn("Audit queue full: {} audit rows dropped so far", n);
                }
            }
        }
    }

    public long dropped() {
        return dropped.get();
    }

    public long written() {
        return written.get();
    }

    public int backlog() {
        return queue.size();
    }

    @Override
    protected void doStart() {
        running = true;
        writer = new Thread(this::run, "audit-writer");
        writer.setDaemon(true);
        writer.start();
    }

    @Override
    protected void doStop() throws InterruptedException {
        running = false;
        Thread w = writer;
        if (w != null) {
            w.interrupt();
            w.join(5000);
        }
        // last chance for what is still queued
        List<AuditEvent> rest = new ArrayList<>();
        queue.drainTo(rest);
        if (!rest.isEmpty() && !tryWrite(rest)) {
            LOG.warn("{} audit rows could not be written at shutdown", rest.size());
        }
    }

    private void run() {
        List<AuditEvent> batch = new ArrayList<>();
        long backoffMs = 250;
        while (running) {
            try {
                if (batch.isEmpty()) {
                    AuditEvent first = queue.poll(1, TimeUnit.SECONDS);
                    if (first == null) {
                        continue;
                    }
                    batch.add(first);
                    queue.drainTo(batch, 499);
                }
                if (tryWrite(batch)) {
                    batch.clear();
                    backoffMs = 250;
                } else {
                    Thread.sleep(backoffMs); // the database is away; the batch waits for it
                    backoffMs = Math.min(backoffMs * 2, 5000);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                queue.addAll(batch.subList(0, Math.min(batch.size(), queue.remainingCapacity())));
                return;
            } catch (RuntimeException e) {
                LOG.warn("Audit writer: {}", e.toString());
                batch.clear();
            }
        }
    }

    /** True when the batch is done with: written, or dropped because the rows themselves are refused. */
    private boolean tryWrite(List<AuditEvent> batch) {
        AuditSink.Outcome outcome = sink.write(batch);
        switch (outcome) {
            case WRITTEN -> written.addAndGet(batch.size());
            case DROPPED -> dropped.addAndGet(batch.size());
            case POSTPONED -> {
                return false;
            }
        }
        return true;
    }
}
