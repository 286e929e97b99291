package dev.agentconfig.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * What the test JVM prints straight to {@code System.out} and {@code System.err} while attached
 * (stack traces, banners, anything not logged through log4j, which {@link LogCapture} sees), teed:
 * it still reaches the report. Read while the test runs, unlike the report file, which surefire
 * writes out only after the class.
 */
public final class ConsoleCapture {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out;
    private final PrintStream err;

    private ConsoleCapture() {
        out = System.out;
        err = System.err;
    }

    public static ConsoleCapture attach() {
        ConsoleCapture capture = new ConsoleCapture();
        System.setOut(new PrintStream(new Tee(capture.out, capture.bytes), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new Tee(capture.err, capture.bytes), true, StandardCharsets.UTF_8));
        return capture;
    }

    public void detach() {
        System.out.flush();
        System.err.flush();
        System.setOut(out);
        System.setErr(err);
    }

    public String text() {
        synchronized (bytes) {
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }

    private static final class Tee extends OutputStream {
        private final OutputStream original;
        private final ByteArrayOutputStream copy;

        Tee(OutputStream original, ByteArrayOutputStream copy) {
            this.original = original;
            this.copy = copy;
        }

        @Override
        public void write(int b) {
            synchronized (copy) {
                copy.write(b);
            }
            try {
                original.write(b);
            } catch (IOException e) {
                // the report's stream: nothing to do about it here
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            synchronized (copy) {
                copy.write(b, off, len);
            }
            try {
                original.write(b, off, len);
            } catch (IOException e) {
                // as above
            }
        }

        @Override
        public void flush() {
            try {
                original.flush();
            } catch (IOException e) {
                // as above
            }
        }
    }
}
