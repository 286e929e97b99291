package dev.agentconfig.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The service's address as the browser sees it: a TCP relay on its own port in front of the service.
 * {@link #stop()} closes the port and every connection through it, so the browser gets exactly what a
 * stopped service gives (connection refused); {@link #start()} listens on the same port again. Besides:
 * {@link #hold()} keeps every request's bytes at the relay until {@link #release()} (a request in
 * flight, for as long as a test needs), {@link #holdAnswers()} lets requests through and keeps the
 * answers (the service did the work, the browser has not heard of it yet), and {@link #answer503(boolean)} answers every request but a
 * CORS preflight with 503 (a proxy in front of a service that is being deployed). It never looks at or
 * logs what passes, apart from the first word of a request.
 */
final class TcpRelay implements AutoCloseable {
    private final int port;
    private final int target;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicInteger held = new AtomicInteger();
    private volatile ServerSocket server;
    private volatile CountDownLatch gate;
    private volatile CountDownLatch answerGate;
    private volatile boolean answer503;

    TcpRelay(int port, int target) {
        this.port = port;
        this.target = target;
    }

    int port() {
        return port;
    }

    /**
     * A free port below Linux's ephemeral range (32768-60999). The relay closes and opens its port again while
     * a test runs; a port from the ephemeral range (what new ServerSocket(0) gives) can meanwhile be taken as
     * the local port of some outgoing connection (a pool's, the HTTP client's), and the relay could not bind
     * again ("Address already in use").
     */
    static int listeningPort() {
        java.util.Random random = new java.util.Random();
        for (int attempt = 0; attempt < 200; attempt++) {
            int candidate = 20_000 + random.nextInt(12_000);
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), candidate));
                return candidate;
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IllegalStateException("no free port between 20000 and 32000");
    }

    synchronized void start() {
        if (server != null) {
            return;
        }
        try {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            server = s;
            Thread t = new Thread(() -> accept(s), "relay-accept-" + port);
            t.setDaemon(true);
            t.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The port refuses connections; open connections are cut (kept-alive ones included). */
    synchronized void stop() {
        ServerSocket s = server;
        server = null;
        closeQuietly(s);
        for (Socket socket : sockets) {
            closeQuietly(socket);
        }
        sockets.clear();
    }

    void hold() {
        gate = new CountDownLatch(1);
    }

    /**
     * The service gets and handles every request; its answers wait at the relay until {@link #release()}
     * (a CORS preflight's answer excepted: the browser's own question, not the client's request).
     */
    void holdAnswers() {
        answerGate = new CountDownLatch(1);
    }

    void release() {
        for (CountDownLatch g : new CountDownLatch[] {gate, answerGate}) {
            if (g != null) {
                g.countDown();
            }
        }
        gate = null;
        answerGate = null;
    }

    /** Requests or answers (chunks of them) waiting at the relay now. */
    int held() {
        return held.get();
    }

    void answer503(boolean on) {
        answer503 = on;
    }

    @Override
    public void close() {
        release();
        stop();
    }

    private void accept(ServerSocket s) {
        while (!s.isClosed()) {
            try {
                Socket client = s.accept();
                sockets.add(client);
                Thread t = new Thread(() -> relay(client), "relay-" + port);
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // stopped
            }
        }
    }

    private void relay(Socket client) {
        try (Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target)) {
            sockets.add(upstream);
            java.util.Queue<String> methods = new java.util.concurrent.ConcurrentLinkedQueue<>();
            Thread back = new Thread(() -> pump(upstream, client, methods), "relay-back-" + port);
            back.setDaemon(true);
            back.start();
            InputStream in = client.getInputStream();
            OutputStream out = upstream.getOutputStream();
            byte[] buf = new byte[16384];
            int n;
            boolean refused = false;
            while ((n = in.read(buf)) > 0) {
                CountDownLatch g = gate;
                if (g != null) {
                    held.incrementAndGet();
                    try {
                        g.await();
                    } finally {
                        held.decrementAndGet();
                    }
                }
                if (answer503 && startsARequest(buf, n) && !startsWith(buf, n, "OPTIONS ")) {
                    client.getOutputStream().write(("HTTP/1.1 503 Service Unavailable\r\nAccess-Control-Allow-Origin: *\r\n"
                            + "Retry-After: 1\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\n"
                            + "deploying\r\n").getBytes(StandardCharsets.US_ASCII));
                    client.getOutputStream().flush();
                    refused = true;
                    break;
                }
                if (startsARequest(buf, n) || startsWith(buf, n, "OPTIONS ")) {
                    methods.add(new String(buf, 0, Math.min(n, 8), StandardCharsets.US_ASCII).split(" ")[0]);
                }
                out.write(buf, 0, n);
                out.flush();
            }
            if (!refused) {
                // the browser went away (a reload): what it sent still reaches the service, which is not
                // cut off before it answered (the answer then finds the browser gone, as in real life)
                back.join(5000);
            }
        } catch (IOException e) {
            // a side went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeQuietly(client);
            sockets.remove(client);
        }
    }

    /** The service's answers back to the browser; with answers held, all but a preflight's wait. */
    private void pump(Socket from, Socket to, java.util.Queue<String> methods) {
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            byte[] buf = new byte[16384];
            int n;
            String answering = null;
            while ((n = in.read(buf)) > 0) {
                if (startsWith(buf, n, "HTTP/1.")) {
                    answering = methods.poll(); // HTTP/1.1 answers come in the order of the requests
                }
                CountDownLatch g = answerGate;
                if (g != null && !"OPTIONS".equals(answering)) {
                    held.incrementAndGet();
                    try {
                        g.await();
                    } finally {
                        held.decrementAndGet();
                    }
                }
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // a side went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeQuietly(to);
            closeQuietly(from);
            sockets.remove(from);
        }
    }

    private static boolean startsARequest(byte[] buf, int n) {
        for (String method : new String[] {"GET ", "PUT ", "POST ", "DELETE ", "PATCH ", "HEAD "}) {
            if (startsWith(buf, n, method)) {
                return true;
            }
        }
        return false;
    }

    private static boolean startsWith(byte[] buf, int n, String prefix) {
        byte[] p = prefix.getBytes(StandardCharsets.US_ASCII);
        if (n < p.length) {
            return false;
        }
        for (int i = 0; i < p.length; i++) {
            if (buf[i] != p[i]) {
                return false;
            }
        }
        return true;
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // closing
            }
        }
    }
}
