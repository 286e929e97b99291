package dev.agentconfig.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.agentconfig.testing.ServiceTestSupport;
import org.apache.camel.AsyncCallback;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.NamedNode;
import org.apache.camel.Processor;
import org.apache.camel.spi.InterceptStrategy;
import org.apache.camel.spi.Registry;
import org.apache.camel.support.DefaultRegistry;
import org.apache.camel.support.processor.DelegateAsyncProcessor;
import org.junit.jupiter.api.Test;

/**
 * What one save costs in Camel terms, counted by an intercept strategy on every processor: the routes it
 * passes, its direct: and seda: hops, its bean calls and its processors; for a happy-path save over HTTP, a save
 * refused at the door (400, answered by http-save's catch), a merged read over HTTP (the multicast's branches
 * counted too), and a save while the database is down (breakers open). A figure for the closing notes, not a test: run it
 * with {@code mvn -B test -Dtest=RouteHopsMeasure -Dsurefire.failIfNoSpecifiedTests=false} (the bench
 * folder is left out of the normal run) on this commit and on an older one to compare. The bench profile runs it
 * before BenchmarkSuite, which judges issue 20's route and hop targets on target/bench-hops.properties.
 */
class RouteHopsMeasure extends ServiceTestSupport {
    static final AtomicBoolean ON = new AtomicBoolean();
    static final Map<String, Integer> COUNTS = new ConcurrentHashMap<>();
    static final Set<String> ROUTES = ConcurrentHashMap.newKeySet();

    @Override
    protected Registry createCamelRegistry() {
        Registry r = new DefaultRegistry();
        r.bind("hopCounter", (InterceptStrategy) (CamelContext ctx, NamedNode def, Processor target, Processor next) ->
                new DelegateAsyncProcessor(target) {
                    @Override
                    public boolean process(Exchange exchange, AsyncCallback callback) {
                        if (ON.get()) {
                            String kind = def.getShortName();
                            String label = def.getLabel() == null ? "" : def.getLabel();
                            if (("to".equals(kind) || "enrich".equals(kind)) && label.contains("direct:")) {
                                COUNTS.merge("direct hop", 1, Integer::sum);
                            } else if (label.contains("seda:")) {
                                COUNTS.merge("seda hop", 1, Integer::sum);
                            }
                            if ("bean".equals(kind)) {
                                COUNTS.merge("bean call", 1, Integer::sum);
                            }
                            COUNTS.merge("processors", 1, Integer::sum);
                            String at = org.apache.camel.support.ExchangeHelper.getAtRouteId(exchange);
                            ROUTES.add(at == null ? exchange.getFromRouteId() : at);
                        }
                        return super.process(exchange, callback);
                    }
                });
        return r;
    }

    private String measure(Runnable save) {
        save.run(); // warm
        COUNTS.clear();
        ROUTES.clear();
        ON.set(true);
        save.run();
        ON.set(false);
        return new TreeMap<>(COUNTS) + " routes=" + ROUTES.size() + " " + new java.util.TreeSet<>(ROUTES);
    }

    @Test
    void measure() {
        String tenant = newTenant();
        String happy = measure(() -> put(tenant, newUser(), "{\"callAgentId\":\"c\",\"smsAgentId\":\"s\"}"));
        System.out.println("HOPS happy HTTP save: " + happy);
        // for BenchmarkSuite's targets (the bench profile runs this class first)
        Properties figures = new Properties();
        figures.setProperty("routes", String.valueOf(ROUTES.size()));
        figures.setProperty("route-ids", String.join(", ", new TreeSet<>(ROUTES)));
        figures.setProperty("direct", String.valueOf(COUNTS.getOrDefault("direct hop", 0)));
        figures.setProperty("processors", String.valueOf(COUNTS.getOrDefault("processors", 0)));
        try (var out = Files.newOutputStream(Path.of("target", "bench-hops.properties"))) {
            figures.store(out, "RouteHopsMeasure: one happy-path HTTP save");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String refused = measure(() -> put(tenant, newUser(), "{\"callAgentId\":\"not an agent id\"}"));
        System.out.println("HOPS refused HTTP save (400): " + refused);
        String user = newUser().toString();
        put(tenant, user, "{\"callAgentId\":\"c\",\"smsAgentId\":\"s\"}");
        String read = measure(() -> send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant
                + "/" + user)).header("Authorization", "Bearer " + serviceToken).GET()));
        System.out.println("HOPS merged HTTP read: " + read);
        stopDatabase();
        try {
            for (int i = 0; i < 10; i++) {
                put(tenant, newUser(), "{\"callAgentId\":\"c\"}");
            }
            String down = measure(() -> put(tenant, newUser(), "{\"callAgentId\":\"c\",\"smsAgentId\":\"s\"}"));
            System.out.println("HOPS database down (breakers open) HTTP save: " + down);
        } finally {
            startDatabase();
        }
    }
}
