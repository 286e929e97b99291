package dev.agentconfig.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.agentconfig.testing.ServiceProcess;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The packaged jar against 500 slow connections: 250 send their request headers one byte at a time
 * (slowloris), 250 send complete headers and then their body one byte at a time. Every one of them
 * keeps bytes coming, so an idle timeout alone would never cut them. Meanwhile another client saves:
 * its saves keep answering, and the slow connections are all closed by the server's headers and body
 * timeouts (the half-sent bodies with a 408 problem+json).
 */
class SlowClientsIT {
    private static final int SLOW_HEADERS = 250;
    private static final int SLOW_BODIES = 250;

    /** One slow connection: what it still has to send, what it received, whether the server closed it. */
    private static final class Slow {
        final SocketChannel channel;
        final byte[] toSend;
        final boolean body;
        int sent;
        final StringBuilder received = new StringBuilder();
        volatile boolean closed;

        Slow(SocketChannel channel, byte[] toSend, boolean body) {
            this.channel = channel;
            this.toSend = toSend;
            this.body = body;
        }
    }

    @Test
    void fiveHundredSlowConnectionsAreCutWhileSavesKeepAnswering() throws Exception {
        Path root = Files.createTempDirectory("acs-slow-");
        Path data = root.resolve("data");
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ServiceProcess service = new ServiceProcess(data, port, Map.of(), List.of(
                "-Dagentconfig.http.headers-timeout=4s",
                "-Dagentconfig.http.body-timeout=4s",
                "-Dagentconfig.http.idle-timeout=60s",
                "-Dagentconfig.http.max-connections=2000")).start().awaitReady();
        Selector selector = Selector.open();
        List<Slow> slow = new ArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        try {
            String token = Files.readString(data.resolve("secrets/service-token")).trim();
            String path = "/api/v1/agent-config/acme/" + UUID.randomUUID();
            long openedAt = System.nanoTime();
            for (int i = 0; i < SLOW_HEADERS + SLOW_BODIES; i++) {
                boolean body = i >= SLOW_HEADERS;
                SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
                ch.configureBlocking(false);
                String head = "PUT " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
                        + "\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n";
                Slow c = new Slow(ch, (head + "{\"callAgentId\":\"" + "x".repeat(3000)).getBytes(StandardCharsets.UTF_8), body);
                if (body) {
                    // the whole head at once, then the body byte by byte
                    c.sent = head.length();
                    ch.write(ByteBuffer.wrap(c.toSend, 0, c.sent));
                }
                ch.register(selector, SelectionKey.OP_READ, c);
                slow.add(c);
            }
            AtomicInteger open = new AtomicInteger(slow.size());
            // one thread keeps every slow connection dribbling (one byte each, every 200 ms) and notices closes
            Thread dribbler = new Thread(() -> {
                ByteBuffer in = ByteBuffer.allocate(8192);
                while (!stop.get() && open.get() > 0) {
                    for (Slow c : slow) {
                        if (c.closed || c.sent >= c.toSend.length) {
                            continue;
                        }
                        try {
                            if (c.channel.write(ByteBuffer.wrap(c.toSend, c.sent, 1)) == 1) {
                                c.sent++;
                            }
                        } catch (IOException e) {
                            close(c, open);
                        }
                    }
                    try {
                        long until = System.nanoTime() + Duration.ofMillis(200).toNanos();
                        while (System.nanoTime() < until) {
                            selector.select(50);
                            for (SelectionKey key : selector.selectedKeys()) {
                                Slow c = (Slow) key.attachment();
                                in.clear();
                                int n;
                                try {
                                    n = c.channel.read(in);
                                } catch (IOException e) {
                                    n = -1;
                                }
                                if (n < 0) {
                                    key.cancel();
                                    close(c, open);
                                } else {
                                    c.received.append(new String(in.array(), 0, n, StandardCharsets.ISO_8859_1));
                                }
                            }
                            selector.selectedKeys().clear();
                        }
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }, "slow-clients");
            dribbler.start();

            // meanwhile, another client saves, one after the other
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            List<Integer> statuses = new CopyOnWriteArrayList<>();
            List<Integer> slowOpenAtSave = new CopyOnWriteArrayList<>();
            int saves = 0;
            while (open.get() > 0 && saves < 200) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(service.baseUrl()
                                + "/api/v1/agent-config/acme/" + UUID.randomUUID()))
                        .timeout(Duration.ofSeconds(30))
                        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                        .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"agent_during_" + saves + "\"}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                statuses.add(r.statusCode());
                slowOpenAtSave.add(open.get());
                saves++;
            }

            // the slow connections are all closed, by the server, within a generous bound
            Awaitility.await().atMost(Duration.ofSeconds(120)).until(() -> open.get() == 0);
            System.out.printf("SlowClientsIT: %d saves while %d slow connections were open; all closed %d ms after they opened%n",
                    saves, slow.size(), Duration.ofNanos(System.nanoTime() - openedAt).toMillis());
            stop.set(true);
            dribbler.join(10_000);

            assertThat(statuses).as("saves while the slow connections were held").isNotEmpty().containsOnly(200);
            assertThat(slowOpenAtSave.get(0)).as("the first save answered while the slow connections were open")
                    .isEqualTo(SLOW_HEADERS + SLOW_BODIES);
            // none of them got to send its whole request: the server cut them
            assertThat(slow).allMatch(c -> c.sent < c.toSend.length);
            // the half-sent bodies were told why (408 problem+json); the half-sent headers just closed
            assertThat(slow.stream().filter(c -> c.body))
                    .allMatch(c -> c.received.toString().startsWith("HTTP/1.1 408")
                            && c.received.toString().contains("application/problem+json"));
            assertThat(slow.stream().filter(c -> !c.body).map(c -> c.received.toString())).allMatch(String::isEmpty);
            // 500 refusals cost a few log lines (one per 10 s interval at most), no stack trace, no ERROR
            assertThat(service.output().lines().filter(l -> l.contains("RefusalLog"))).hasSizeBetween(1, 3);
            assertThat(service.output()).doesNotContain("Unhandled exception").doesNotContain("ERROR");
        } finally {
            stop.set(true);
            for (Slow c : slow) {
                c.channel.close();
            }
            selector.close();
            service.stop();
        }
    }

    private static void close(Slow c, AtomicInteger open) {
        if (!c.closed) {
            c.closed = true;
            open.decrementAndGet();
        }
    }
}
