package dev.agentconfig.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.awaitility.Awaitility;

/**
 * The packaged service as a real process ({@code java -jar target/agent-config-sync.jar}, run
 * from the repository root), for tests of start-up, signals and restarts. Everything the process
 * prints (stdout and stderr: its whole log) goes to a file under {@link #LOG_DIR}, which outlives
 * the test's temporary directories and which CI's plaintext-key scan ({@code .ci/no-plaintext-key},
 * called by {@code .ci/run}) reads with the test reports.
 */
public final class ServiceProcess implements AutoCloseable {
    /** Where every started process's output stays: {@code target/process-logs}. */
    public static final Path LOG_DIR = jar().getParent().resolve("process-logs");
    private static final Pattern PG_PORT = Pattern.compile("Embedded PostgreSQL started on 127\\.0\\.0\\.1:(\\d+)");

    private final Path dataDir;
    private final int port;
    private final Map<String, String> env;
    private final List<String> extraArgs;
    private final List<String> programArgs;
    private Path jar = jar();
    private Process process;
    private Path output;
    /** Across instances: every process of a test JVM writes its own output file. */
    private static final AtomicInteger STARTS = new AtomicInteger();

    public ServiceProcess(Path dataDir, int port, Map<String, String> env, List<String> extraArgs) {
        this(dataDir, port, env, extraArgs, List.of());
    }

    /** @param programArgs after the jar: a command such as {@code rotate-keys} */
    public ServiceProcess(Path dataDir, int port, Map<String, String> env, List<String> extraArgs,
                          List<String> programArgs) {
        this.dataDir = dataDir;
        this.port = port;
        this.env = env;
        this.extraArgs = extraArgs;
        this.programArgs = programArgs;
    }

    /** Another packaged jar than this build's (the benchmark's before/after comparison runs an older commit's). */
    public ServiceProcess withJar(Path otherJar) {
        this.jar = otherJar.toAbsolutePath();
        return this;
    }

    public static Path jar() {
        String jar = System.getProperty("packaged.jar", "target/agent-config-sync.jar");
        return Path.of(jar).toAbsolutePath();
    }

    public ServiceProcess start() {
        try {
            Files.createDirectories(LOG_DIR);
            // unique across test JVMs (failsafe and surefire may both start processes) and runs of one JVM
            output = LOG_DIR.resolve(caller() + "-" + ProcessHandle.current().pid() + "-" + STARTS.incrementAndGet()
                    + ".log");
            List<String> cmd = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx512m",
                    "-Dagentconfig.data-dir=" + dataDir,
                    "-Dagentconfig.http.port=" + port));
            cmd.addAll(extraArgs);
            cmd.add("-jar");
            cmd.add(jar.toString());
            cmd.addAll(programArgs);
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .directory(LOG_DIR.getParent().getParent().toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile());
            pb.environment().putAll(env);
            process = pb.start();
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The test class that started the process (the first *Test or *IT class on the stack), for the log's name. */
    private static String caller() {
        return StackWalker.getInstance()
                .walk(frames -> frames.map(StackWalker.StackFrame::getClassName)
                        .map(name -> name.substring(name.lastIndexOf('.') + 1).replaceAll("\\$.*", ""))
                        .filter(name -> name.endsWith("Test") || name.endsWith("IT")).findFirst())
                .orElse("process");
    }

    /** The file the process writes its output to (under {@link #LOG_DIR}); null before {@link #start()}. */
    public Path outputFile() {
        return output;
    }

    /** Waits until the HTTP port answers (any status). */
    public ServiceProcess awaitReady() {
        HttpClient http = HttpClient.newHttpClient();
        Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                .until(() -> {
                    if (!process.isAlive()) {
                        throw new IllegalStateException("the service exited: " + output());
                    }
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/ready-probe"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                    return r.statusCode() > 0;
                });
        return this;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    public Process process() {
        return process;
    }

    public String output() {
        try {
            return output == null || !Files.exists(output) ? "" : Files.readString(output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Connects straight to the embedded PostgreSQL the process started, with the password it
     * generated into its data dir.
     */
    public Connection connectDatabase() throws SQLException {
        Matcher m = PG_PORT.matcher(output());
        int pgPort = -1;
        while (m.find()) {
            pgPort = Integer.parseInt(m.group(1));
        }
        if (pgPort < 0) {
            throw new IllegalStateException("no embedded PostgreSQL port in the output");
        }
        String password;
        try {
            password = Files.readString(dataDir.resolve("secrets").resolve("embedded-db-password")).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + pgPort + "/postgres", "postgres", password);
    }

    /** SIGTERM and wait; returns the exit code. */
    public int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("the service did not stop within 60 s of SIGTERM");
        }
        return process.exitValue();
    }

    /** SIGKILL: no shutdown hook runs, the embedded postmaster is left behind. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            stop();
        }
    }
}
