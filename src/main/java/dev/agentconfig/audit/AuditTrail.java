package dev.agentconfig.audit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import dev.agentconfig.json.Json;
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
    private static final String INSERT =
            "INSERT INTO public.audit_log (at, event, tenant_id, user_id, success, details) "
                    + "VALUES (?, ?, ?, ?, ?, CAST(? AS jsonb))";

    private final DataSource dataSource;
    private final BlockingQueue<AuditEvent> queue;
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private volatile Thread writer;
    private volatile boolean running;

    public AuditTrail(DataSource dataSource, int capacity) {
        this.dataSource = dataSource;
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

    private boolean tryWrite(List<AuditEvent> batch) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(INSERT)) {
            for (AuditEvent e : batch) {
                ps.setTimestamp(1, Timestamp.from(e.at()));
                ps.setString(2, e.event());
                ps.setString(3, e.tenantId());
                if (e.userId() == null) {
                    ps.setNull(4, Types.OTHER);
                } else {
                    ps.setObject(4, e.userId());
                }
                ps.setBoolean(5, e.success());
                ps.setString(6, Json.write(e.details()));
                ps.addBatch();
            }
            ps.executeBatch();
            written.addAndGet(batch.size());
            return true;
        } catch (SQLException e) {
            String state = e.getSQLState();
            if (state != null && (state.startsWith("22") || state.startsWith("23") || state.startsWith("42"))) {
                // the rows themselves (or the table) are the problem: retrying will not help
                LOG.warn("Audit rows not written ({} {}): {} dropped", state, e.getMessage(), batch.size());
                dropped.addAndGet(batch.size());
                return true;
            }
            LOG.debug("Audit write postponed: {}", e.getMessage());
            return false;
        }
    }
}
