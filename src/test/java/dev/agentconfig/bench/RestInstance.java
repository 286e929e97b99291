package dev.agentconfig.bench;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Properties;
import java.util.UUID;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;
import dev.agentconfig.AppConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.main.Main;

/**
 * A second instance of the service in the benchmark's JVM, with agentconfig.transport=rest against a
 * WireMock stand-in for PostgREST that answers every write as PostgREST does when it takes it (the shapes
 * of postgrest/RestTransportTestSupport). No database behind it: what it measures is the service's own cost
 * on the rest transport (two HTTP requests per save), not a commit.
 */
final class RestInstance implements AutoCloseable {
    private static final String JSON_UTF8 = "application/json; charset=utf-8";

    private final WireMockServer stub;
    private final Main main;
    private final ProducerTemplate template;

    RestInstance() throws Exception {
        stub = new WireMockServer(WireMockConfiguration.options().dynamicPort().bindAddress("127.0.0.1")
                .containerThreads(64).asynchronousResponseEnabled(false).disableRequestJournal()
                .notifier(new com.github.tomakehurst.wiremock.common.Slf4jNotifier(false)));
        stub.start();
        stub.stubFor(post(urlPathEqualTo("/rest/v1/user_profiles")).willReturn(aResponse().withStatus(201)
                .withHeader("Content-Type", JSON_UTF8).withBody("[{\"field_versions\":{}}]")));
        stub.stubFor(post(urlPathEqualTo("/rest/v1/rpc/update_user_api_keys")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", JSON_UTF8).withBody("{\"success\":true,\"field_versions\":{}}")));
        stub.stubFor(post(urlPathEqualTo("/rest/v1/audit_log")).willReturn(aResponse().withStatus(201)));
        for (String table : new String[] {"user_profiles", "user_settings", "audit_log"}) {
            stub.stubFor(get(urlPathEqualTo("/rest/v1/" + table)).willReturn(aResponse().withStatus(200)
                    .withHeader("Content-Type", JSON_UTF8).withBody("[]")));
        }
        Path data = Files.createTempDirectory("acs-bench-rest-");
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Properties p = new Properties();
        p.setProperty("agentconfig.data-dir", data.toString());
        p.setProperty("agentconfig.http.port", String.valueOf(freePort()));
        p.setProperty("agentconfig.encryption.key", Base64.getEncoder().encodeToString(key));
        p.setProperty("agentconfig.auth.service-token", "svc_" + UUID.randomUUID());
        p.setProperty("agentconfig.transport", "rest");
        p.setProperty("agentconfig.supabase.url", "http://127.0.0.1:" + stub.port());
        p.setProperty("agentconfig.supabase.key", "sb_secret_BENCH_" + HexFormat.of().formatHex(key, 0, 8));
        p.setProperty("agentconfig.sync.interval", "60m");
        p.setProperty("agentconfig.sync.initial-delay", "60m");
        main = new Main();
        main.configure().addConfiguration(AppConfiguration.class);
        main.setOverrideProperties(p);
        main.start();
        CamelContext context = main.getCamelContext();
        template = context.createProducerTemplate();
    }

    ProducerTemplate template() {
        return template;
    }

    CamelContext context() {
        return main.getCamelContext();
    }

    @Override
    public void close() {
        try {
            main.stop();
        } finally {
            stub.stop();
        }
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
