package dev.agentconfig.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;

/** Tracing on: every span exported over OTLP to a stand-in collector on this machine; see {@link TracingCost}. */
class TracingCostOn extends TracingCost {
    static final AtomicLong EXPORTS = new AtomicLong();
    static final AtomicLong BYTES = new AtomicLong();
    static HttpServer collector;

    @Override
    protected Properties extraProperties() {
        try {
            collector = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        collector.createContext("/v1/traces", exchange -> {
            BYTES.addAndGet(exchange.getRequestBody().readAllBytes().length);
            EXPORTS.incrementAndGet();
            exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        collector.setExecutor(Executors.newSingleThreadExecutor());
        collector.start();
        Properties p = new Properties();
        p.setProperty("agentconfig.tracing.otlp-endpoint",
                "http://127.0.0.1:" + collector.getAddress().getPort() + "/v1/traces");
        return p;
    }

    @AfterAll
    void stopCollector() {
        if (collector != null) {
            collector.stop(0);
        }
    }
}
