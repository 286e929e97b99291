package dev.agentconfig.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/** Closed-loop load: N clients call an operation back to back for a fixed time (or a fixed number of calls). */
final class Load {
    /** The CPU time of every client thread that has ended (ns): the CPU view leaves the load generator's out. */
    static final AtomicLong CLIENT_CPU_NS = new AtomicLong();

    /** One operation; the argument is a unique sequence number across all clients. */
    interface Op {
        void run(long seq) throws Exception;
    }

    /**
     * @param latencies sorted, ns
     * @param starts    each operation's start (ns after the load began) and latency (ns), in pairs, unsorted
     */
    record Result(int clients, long operations, double seconds, long[] latencies, long[] starts, long errors) {
        double throughput() {
            return operations / seconds;
        }

        double percentileMs(double p) {
            return percentileMs(latencies, p);
        }

        static double percentileMs(long[] sorted, double p) {
            if (sorted.length == 0) {
                return Double.NaN;
            }
            int idx = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
            return sorted[Math.max(0, Math.min(idx, sorted.length - 1))] / 1e6;
        }

        /** The operations that started within [fromS, toS) seconds of the load's start: count and sorted latencies. */
        long[] window(double fromS, double toS) {
            long from = (long) (fromS * 1e9);
            long to = (long) (toS * 1e9);
            long[] out = new long[starts.length / 2];
            int n = 0;
            for (int i = 0; i < starts.length; i += 2) {
                if (starts[i] >= from && starts[i] < to) {
                    out[n++] = starts[i + 1];
                }
            }
            long[] w = Arrays.copyOf(out, n);
            Arrays.sort(w);
            return w;
        }
    }

    static Result run(int clients, double seconds, Op op) throws InterruptedException {
        return run(clients, seconds, Long.MAX_VALUE, op, -1, null);
    }

    /** Until {@code total} operations have completed (as many as the clients take, counted across all). */
    static Result runCount(int clients, long total, Op op) throws InterruptedException {
        return run(clients, Double.MAX_VALUE, total, op, -1, null);
    }

    /**
     * @param eventAt  seconds after the start at which {@code event} runs on a thread of its own (negative: none)
     */
    static Result run(int clients, double seconds, long total, Op op, double eventAt, Runnable event)
            throws InterruptedException {
        AtomicLong seq = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        List<long[]> perThread = new ArrayList<>();
        List<long[]> perThreadStarts = new ArrayList<>();
        int[] counts = new int[clients];
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(clients);
        long[] t0 = new long[1];
        for (int c = 0; c < clients; c++) {
            final int id = c;
            long[][] holder = {new long[4096]};
            long[][] startHolder = {new long[8192]};
            perThread.add(null);
            perThreadStarts.add(null);
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    int n = 0;
                    while (!stop.get()) {
                        long s = seq.getAndIncrement();
                        if (s >= total) {
                            stop.set(true);
                            break;
                        }
                        long b = System.nanoTime();
                        try {
                            op.run(s);
                        } catch (Exception e) {
                            errors.incrementAndGet();
                            continue;
                        }
                        long d = System.nanoTime() - b;
                        if (n == holder[0].length) {
                            holder[0] = Arrays.copyOf(holder[0], n * 2);
                            startHolder[0] = Arrays.copyOf(startHolder[0], n * 4);
                        }
                        holder[0][n] = d;
                        startHolder[0][2 * n] = b - t0[0];
                        startHolder[0][2 * n + 1] = d;
                        n++;
                    }
                    counts[id] = n;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    CLIENT_CPU_NS.addAndGet(Math.max(0, java.lang.management.ManagementFactory.getThreadMXBean()
                            .getCurrentThreadCpuTime()));
                    synchronized (perThread) {
                        perThread.set(id, holder[0]);
                        perThreadStarts.set(id, startHolder[0]);
                    }
                    done.countDown();
                }
            }, "bench-client-" + c);
            t.start();
        }
        t0[0] = System.nanoTime();
        start.countDown();
        Thread eventThread = null;
        if (event != null && eventAt >= 0) {
            eventThread = new Thread(() -> {
                try {
                    Thread.sleep((long) (eventAt * 1000)); // the scenario's timeline, not a wait for a condition
                    event.run();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "bench-event");
            eventThread.start();
        }
        if (seconds < Double.MAX_VALUE) {
            // the measurement window itself, not a wait for a condition
            done.await((long) (seconds * 1000), java.util.concurrent.TimeUnit.MILLISECONDS);
            stop.set(true);
        }
        done.await();
        if (eventThread != null) {
            eventThread.join();
        }
        double elapsed = (System.nanoTime() - t0[0]) / 1e9;
        int total2 = Arrays.stream(counts).sum();
        long[] all = new long[total2];
        long[] starts = new long[total2 * 2];
        int pos = 0;
        for (int c = 0; c < clients; c++) {
            System.arraycopy(perThread.get(c), 0, all, pos, counts[c]);
            System.arraycopy(perThreadStarts.get(c), 0, starts, pos * 2, counts[c] * 2);
            pos += counts[c];
        }
        Arrays.sort(all);
        return new Result(clients, total2, elapsed, all, starts, errors.get());
    }

    private Load() {
    }
}
