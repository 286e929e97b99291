package dev.agentconfig.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/** Closed-loop load: N clients call an operation back to back for a fixed time. */
final class Load {

    /** One operation; the argument is a unique sequence number across all clients. */
    interface Op {
        void run(long seq) throws Exception;
    }

    record Result(int clients, long operations, double seconds, long[] latencies, long errors) {
        double throughput() {
            return operations / seconds;
        }

        double percentileMs(double p) {
            if (latencies.length == 0) {
                return Double.NaN;
            }
            int idx = (int) Math.ceil(p / 100.0 * latencies.length) - 1;
            return latencies[Math.max(0, Math.min(idx, latencies.length - 1))] / 1e6;
        }
    }

    static Result run(int clients, double seconds, Op op) throws InterruptedException {
        AtomicLong seq = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        List<long[]> perThread = new ArrayList<>();
        int[] counts = new int[clients];
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(clients);
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            final int id = c;
            long[][] holder = {new long[4096]};
            perThread.add(null);
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    int n = 0;
                    while (!stop.get()) {
                        long t0 = System.nanoTime();
                        try {
                            op.run(seq.getAndIncrement());
                        } catch (Exception e) {
                            errors.incrementAndGet();
                            continue;
                        }
                        long d = System.nanoTime() - t0;
                        if (n == holder[0].length) {
                            holder[0] = Arrays.copyOf(holder[0], n * 2);
                        }
                        holder[0][n++] = d;
                    }
                    counts[id] = n;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    synchronized (perThread) {
                        perThread.set(id, holder[0]);
                    }
                    done.countDown();
                }
            }, "bench-client-" + c);
            threads.add(t);
            t.start();
        }
        long t0 = System.nanoTime();
        start.countDown();
        Thread.sleep((long) (seconds * 1000)); // the measurement window itself, not a wait for a condition
        stop.set(true);
        done.await();
        double elapsed = (System.nanoTime() - t0) / 1e9;
        int total = Arrays.stream(counts).sum();
        long[] all = new long[total];
        int pos = 0;
        for (int c = 0; c < clients; c++) {
            System.arraycopy(perThread.get(c), 0, all, pos, counts[c]);
            pos += counts[c];
        }
        Arrays.sort(all);
        return new Result(clients, total, elapsed, all, errors.get());
    }

    private Load() {
    }
}
