package dev.agentconfig.db;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL 17 server run from the bundled binaries, with its cluster under
 * {@code <data-dir>/pg} so that data survives restarts. The port is chosen once per process
 * and kept across {@link #stop()}/{@link #start()}, so the pool reconnects after an outage.
 */
public final class EmbeddedDatabase implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedDatabase.class);

    /** Servers still running, for Application to stop when start-up failed half-way. */
    private static final java.util.Set<EmbeddedDatabase> RUNNING = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final Path clusterDir;
    private final int port;
    private EmbeddedPostgres server;

    public EmbeddedDatabase(Path clusterDir) {
        this.clusterDir = clusterDir;
        this.port = freePort();
    }

    public synchronized void start() {
        if (server != null) {
            return;
        }
        try {
            Files.createDirectories(clusterDir);
            stopOrphan();
            long t0 = System.nanoTime();
            server = EmbeddedPostgres.builder()
                    .setDataDirectory(clusterDir)
                    .setCleanDataDirectory(false)
                    .setRegisterShutdownHook(false)
                    .setPort(port)
                    .setPGStartupWait(Duration.ofSeconds(30))
                    .setServerConfig("listen_addresses", "127.0.0.1")
                    .setServerConfig("max_connections", "100")
                    .setServerConfig("fsync", "on")
                    .start();
            RUNNING.add(this);
            LOG.info("Embedded PostgreSQL started on 127.0.0.1:{} with data in {} ({} ms)",
                    port, clusterDir, (System.nanoTime() - t0) / 1_000_000);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the embedded PostgreSQL in " + clusterDir, e);
        }
    }

    /**
     * A server left running by a process that was killed (SIGKILL leaves the postmaster alive)
     * holds the cluster: stop it so this process can start its own.
     */
    private void stopOrphan() throws IOException {
        Path pidFile = clusterDir.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        String first = Files.readAllLines(pidFile).stream().findFirst().orElse("").trim();
        if (!first.matches("\\d+")) {
            return;
        }
        ProcessHandle.of(Long.parseLong(first)).filter(ProcessHandle::isAlive).ifPresent(orphan -> {
            LOG.warn("An embedded PostgreSQL left by an earlier run (pid {}) still holds {}; stopping it",
                    orphan.pid(), clusterDir);
            orphan.destroy(); // SIGTERM: smart shutdown, its clients are gone
            try {
                orphan.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                orphan.destroyForcibly();
            }
        });
    }

    /** Stops the server (fast shutdown: open connections are terminated). */
    public synchronized void stop() {
        if (server == null) {
            return;
        }
        try {
            server.close();
            LOG.info("Embedded PostgreSQL stopped");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stop the embedded PostgreSQL", e);
        } finally {
            server = null;
            RUNNING.remove(this);
        }
    }

    /**
     * Stops every server this process started. Not a JVM shutdown hook: hooks run concurrently,
     * and the database must outlive the graceful stop of the routes that write to it.
     */
    public static void stopAll() {
        for (EmbeddedDatabase db : RUNNING) {
            db.stop();
        }
    }

    public synchronized boolean running() {
        return server != null;
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    public String user() {
        return "postgres";
    }

    public int port() {
        return port;
    }

    @Override
    public void close() {
        stop();
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port for the embedded PostgreSQL", e);
        }
    }
}
