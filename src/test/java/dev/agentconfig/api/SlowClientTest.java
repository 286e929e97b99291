package dev.agentconfig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.agentconfig.testing.ServiceTestSupport;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * In process, one slow client of each kind: headers one byte at a time are cut at the headers
 * timeout (no answer), a body one byte at a time at the body timeout (408 problem+json). Both keep
 * bytes coming all along, so the idle timeout (longer here) is not what cuts them.
 */
class SlowClientTest extends ServiceTestSupport {

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.http.headers-timeout", "1s");
        p.setProperty("agentconfig.http.body-timeout", "1s");
        p.setProperty("agentconfig.http.idle-timeout", "60s");
        return p;
    }

    /** Sends {@code request} one byte every 50 ms until the server closes; returns what it answered. */
    private String dribble(String request, int sendAtOnce) throws Exception {
        try (Socket s = new Socket("127.0.0.1", httpPort)) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            byte[] bytes = request.getBytes(StandardCharsets.US_ASCII);
            out.write(bytes, 0, sendAtOnce);
            out.flush();
            AtomicBoolean closed = new AtomicBoolean();
            StringBuilder answer = new StringBuilder();
            Thread reader = new Thread(() -> {
                try {
                    byte[] buf = new byte[4096];
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        answer.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                    }
                } catch (Exception e) {
                    // reset: closed as well
                }
                closed.set(true);
            });
            reader.start();
            int sent = sendAtOnce;
            while (!closed.get()) {
                assertThat(sent).as("the whole request went out: the server never cut the connection").isLessThan(bytes.length);
                try {
                    out.write(bytes[sent++]);
                    out.flush();
                } catch (Exception e) {
                    break;
                }
                Thread.sleep(50);
            }
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilTrue(closed);
            return answer.toString();
        }
    }

    @Test
    void slowHeadersAreCutWithoutAnAnswer() throws Exception {
        String request = "PUT /api/v1/agent-config/acme/0b6f9c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b HTTP/1.1\r\nHost: x\r\n"
                + "X-Padding: " + "p".repeat(2000) + "\r\n\r\n";
        assertThat(dribble(request, 10)).isEmpty();
    }

    @Test
    void slowBodiesAreCutWithA408Problem() throws Exception {
        String head = "PUT /api/v1/agent-config/acme/0b6f9c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b HTTP/1.1\r\nHost: x\r\n"
                + "Authorization: Bearer " + serviceToken + "\r\nContent-Type: application/json\r\nContent-Length: 3000\r\n\r\n";
        String answer = dribble(head + "{\"callAgentId\":\"" + "x".repeat(2900), head.length());
        assertThat(answer).startsWith("HTTP/1.1 408").contains("application/problem+json").contains("X-Content-Type-Options: nosniff");
    }
}
