package dev.agentconfig.observe;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A probe that runs once at a time however many callers ask (single flight): a caller arriving
 * while it runs waits for that run and shares its result; a result is reused for {@code ttl}
 * after it was taken (zero: only callers that overlapped the run share it). So a flood of health
 * requests costs at most one database round trip at a time, and one per {@code ttl}.
 */
public final class SharedProbe<T> {
    private final Supplier<T> probe;
    private final long ttlNanos;
    private final LongSupplier nanoTime;
    private CompletableFuture<T> running;
    private T last;
    private long lastAt;
    private int runs;

    public SharedProbe(Supplier<T> probe, Duration ttl) {
        this(probe, ttl, System::nanoTime);
    }

    SharedProbe(Supplier<T> probe, Duration ttl, LongSupplier nanoTime) {
        this.probe = probe;
        this.ttlNanos = ttl.toNanos();
        this.nanoTime = nanoTime;
    }

    public T get() {
        CompletableFuture<T> result;
        boolean mine = false;
        synchronized (this) {
            if (last != null && ttlNanos > 0 && nanoTime.getAsLong() - lastAt < ttlNanos) {
                return last;
            }
            if (running == null) {
                running = new CompletableFuture<>();
                mine = true;
                runs++;
            }
            result = running;
        }
        if (mine) {
            try {
                T value = probe.get();
                synchronized (this) {
                    last = value;
                    lastAt = nanoTime.getAsLong();
                    running = null;
                }
                result.complete(value);
            } catch (RuntimeException | Error e) {
                synchronized (this) {
                    running = null;
                }
                result.completeExceptionally(e);
                throw e;
            }
        }
        try {
            return result.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /** How many times the probe itself ran. */
    public synchronized int runs() {
        return runs;
    }
}
