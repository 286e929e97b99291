package dev.agentconfig.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.KafkaBroker;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dashboard (docs/observability/grafana-dashboard.json) and the alert rules
 * (docs/observability/prometheus-rules.yml) against a real Prometheus (Debian's, `apt-get install
 * prometheus`) scraping this service every second through normal traffic, a database outage and its drain:
 * promtool accepts the rules; every panel's query and every rule's expression returns series over the run
 * (a rule's expression without its threshold, which only an incident crosses); the outage alert fires
 * (its {@code for:} shortened in the test's copy). The panels' series are drawn (XChart) into
 * target/dashboard/ (and, with -Ddashboard.pictures=docs/observability, into the docs).
 */
class DashboardPrometheusTest extends ServiceTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(DashboardPrometheusTest.class);
    private static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
    private static final Path PROMTOOL = Path.of("/usr/bin/promtool");
    private static final Path DOCS = Path.of("docs/observability");
    private static final KafkaBroker BROKER = KafkaBroker.shared();
    private static final String TOPIC = KafkaBroker.unique("saves");
    /** What Grafana would put for $__rate_interval at a 1 s scrape interval. */
    private static final String RATE_INTERVAL = "5s";
    /** A rule's threshold: the comparison an incident crosses, at the end of its expression. */
    private static final Pattern THRESHOLD = Pattern.compile("\\s*(==|!=|>=|<=|>|<)\\s*[0-9.e+]+\\s*$");

    private Path work;
    private Process prometheus;
    private int prometheusPort;

    @Override
    protected Properties extraProperties() {
        BROKER.createTopic(TOPIC, 1);
        BROKER.createTopic(TOPIC + ".dlq", 1);
        Properties p = new Properties();
        p.setProperty("agentconfig.kafka.bootstrap-servers", BROKER.bootstrapServers());
        p.setProperty("agentconfig.kafka.saves-topic", TOPIC);
        p.setProperty("agentconfig.kafka.group-id", KafkaBroker.unique("group"));
        p.setProperty("agentconfig.kafka.session-timeout", "6000");
        // the drain without anyone asking: the breaker's probe finds the database back, a pass starts
        p.setProperty("agentconfig.sync.interval", "2s");
        p.setProperty("agentconfig.sync.initial-delay", "1s");
        return p;
    }

    @BeforeAll
    void startPrometheus() throws Exception {
        assertThat(Files.isExecutable(PROMETHEUS) && Files.isExecutable(PROMTOOL))
                .as("this test needs Debian's prometheus (and promtool): apt-get install -y prometheus").isTrue();
        work = Files.createTempDirectory("acs-prometheus-");
        Path token = work.resolve("token");
        Files.writeString(token, serviceToken);
        Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
        // the rules as shipped, with every for: shortened so that an outage of seconds fires its alert
        Files.writeString(work.resolve("rules.yml"), Files.readString(DOCS.resolve("prometheus-rules.yml"))
                .replaceAll("(?m)^(\\s+for:)\\s*\\S+", "$1 2s"));
        Files.writeString(work.resolve("prometheus.yml"), """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                rule_files: [rules.yml]
                scrape_configs:
                  - job_name: agent-config-sync
                    metrics_path: /observe/metrics
                    authorization:
                      type: Bearer
                      credentials_file: %s
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(token, httpPort));
        prometheusPort = freePort();
        prometheus = new ProcessBuilder(PROMETHEUS.toString(), "--config.file=" + work.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + work.resolve("data"), "--web.listen-address=127.0.0.1:" + prometheusPort,
                "--log.level=warn")
                .directory(work.toFile())
                .redirectErrorStream(true).redirectOutput(Path.of("target", "prometheus-" + prometheusPort + ".log").toFile())
                .start();
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> get("/-/ready").statusCode() == 200);
    }

    @AfterAll
    void stopPrometheus() throws Exception {
        if (prometheus != null) {
            prometheus.destroy();
            if (!prometheus.waitFor(20, TimeUnit.SECONDS)) {
                prometheus.destroyForcibly();
            }
        }
        if (work != null) {
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void everyPanelAndRuleReturnsSeriesAndTheOutageAlertFires() throws Exception {
        ProcessResult check = run(PROMTOOL.toString(), "check", "rules", DOCS.resolve("prometheus-rules.yml").toString());
        assertThat(check.code()).as(check.output()).isZero();
        assertThat(check.output()).contains("SUCCESS");
        Instant start = Instant.now();
        await().atMost(Duration.ofSeconds(30)).until(() -> query("up").at("/data/result/0/value/1").asText().equals("1"));

        // normal traffic: saves, reads, a Kafka record
        List<UUID> users = new ArrayList<>();
        String tenant = newTenant();
        for (int i = 0; i < 6; i++) {
            UUID user = newUser();
            users.add(user);
            assertThat(put(tenant, user, "{\"callAgentId\":\"agent_before_" + i + "\"}").statusCode()).isEqualTo(200);
            assertThat(read(tenant, user).statusCode()).isEqualTo(200);
        }
        // a refusal (400: an unknown field): the refusals' panel and rule have something to count
        assertThat(put(tenant, users.get(0), "{\"notAField\":\"x\"}").statusCode()).isEqualTo(400);
        UUID kafkaUser = newUser();
        BROKER.send(TOPIC, tenant + ":" + kafkaUser, "{\"tenantId\":\"" + tenant + "\",\"userId\":\"" + kafkaUser
                + "\",\"smsAgentId\":\"agent_from_kafka\"}", null);
        await().atMost(Duration.ofSeconds(30)).until(() -> profileRow(kafkaUser).isPresent());
        pause(4);

        // the outage: saves park (202), the breakers open, the backlog grows and ages; the alert fires
        stopDatabase();
        Instant outage = Instant.now();
        for (int i = 0; i < 12; i++) {
            HttpResponse<String> parked = put(tenant, users.get(i % users.size()), "{\"smsAgentId\":\"agent_outage_" + i + "\"}");
            assertThat(parked.statusCode()).as(parked.body()).isEqualTo(202);
        }
        assertThat(breaker("profileBreaker").getState().name()).isIn("OPEN", "FORCED_OPEN", "HALF_OPEN");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .until(() -> firing("AgentConfigDatabaseUnreachable"));
        LOG.info("FIGURE the outage alert fired {} ms after the database stopped",
                Duration.between(outage, Instant.now()).toMillis());
        pause(3);

        // the database back: the sync drains the local store by itself
        startDatabase();
        Instant back = Instant.now();
        await().atMost(Duration.ofSeconds(90)).until(() -> query("max(agentconfig_sync_pending_entries)")
                .at("/data/result/0/value/1").asText().equals("0"));
        LOG.info("FIGURE backlog drained {} ms after the database came back", Duration.between(back, Instant.now()).toMillis());
        for (UUID user : users) {
            assertThat(localEntry(tenant, user)).isEmpty();
        }
        assertThat(String.valueOf(profileRow(users.get(0)).orElseThrow().get("encrypted_agent_config")))
                .contains("agent_outage_");
        pause(4);
        Instant end = Instant.now();

        // every panel's query returns series over the run
        JsonNode dashboard = json(Files.readString(DOCS.resolve("grafana-dashboard.json")));
        Map<String, JsonNode> panels = new LinkedHashMap<>();
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.get("targets")) {
                String expr = target.get("expr").asText().replace("$__rate_interval", RATE_INTERVAL);
                JsonNode result = range(expr, start, end);
                assertThat(result.size()).as("panel '%s': %s returns series", panel.get("title").asText(), expr)
                        .isPositive();
                panels.put(panel.get("title").asText() + " / " + target.get("legendFormat").asText(), result);
            }
        }
        // every rule's expression returns series without its threshold; the outage's with it
        Matcher rules = Pattern.compile("(?m)^\\s+- alert: (\\S+)\\n\\s+expr: (.+)$")
                .matcher(Files.readString(DOCS.resolve("prometheus-rules.yml")));
        int count = 0;
        while (rules.find()) {
            count++;
            String name = rules.group(1);
            String expr = rules.group(2).trim();
            // each condition of the rule (joined by "and on()") measured without its threshold
            for (String part : expr.split("\\s+and on\\(\\)\\s+")) {
                String condition = part.startsWith("(") && part.endsWith(")") ? part.substring(1, part.length() - 1) : part;
                String measured = THRESHOLD.matcher(condition).replaceFirst("");
                assertThat(measured).as(name + " has a threshold").isNotEqualTo(condition);
                assertThat(range(measured, start, end).size()).as("rule %s: %s returns series", name, measured)
                        .isPositive();
            }
        }
        assertThat(count).isEqualTo(7);
        assertThat(range(expr("AgentConfigDatabaseUnreachable"), start, end).size())
                .as("the outage alert's own expression held during the outage").isPositive();

        drawPictures(panels, outage, back);
    }

    // ----- pictures ------------------------------------------------------------------------------

    private void drawPictures(Map<String, JsonNode> panels, Instant outage, Instant back) throws IOException {
        List<String[]> wanted = List.of(
                new String[] {"Saves by outcome", "saves per second by outcome (queued = parked)"},
                new String[] {"Circuit breakers", "circuit breaker not closed (1 = saves park)"},
                new String[] {"Local-store backlog", "local-store entries"},
                new String[] {"Oldest pending entry", "age of the oldest pending entry (s)"},
                new String[] {"Drain rate", "drained per second"},
                new String[] {"Save latency", "save latency (s)"});
        List<BufferedImage> images = new ArrayList<>();
        for (String[] w : wanted) {
            XYChart chart = new XYChartBuilder().width(640).height(300).title(w[1]).xAxisTitle("").yAxisTitle("").build();
            chart.getStyler().setDatePattern("HH:mm:ss");
            chart.getStyler().setMarkerSize(0);
            chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
            chart.getStyler().setChartBackgroundColor(Color.WHITE);
            int n = 0;
            for (Map.Entry<String, JsonNode> e : panels.entrySet()) {
                if (!e.getKey().startsWith(w[0] + " / ")) {
                    continue;
                }
                for (JsonNode series : e.getValue()) {
                    List<Date> x = new ArrayList<>();
                    List<Double> y = new ArrayList<>();
                    for (JsonNode v : series.get("values")) {
                        double value = Double.parseDouble(v.get(1).asText());
                        if (Double.isFinite(value)) {
                            x.add(new Date((long) (v.get(0).asDouble() * 1000)));
                            y.add(value);
                        }
                    }
                    if (x.isEmpty()) {
                        continue;
                    }
                    String label = legend(e.getKey().substring(w[0].length() + 3), series.get("metric"));
                    XYSeries s = chart.addSeries(label + (n++ == 0 ? "" : " ".repeat(n)), x, y);
                    s.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
                }
            }
            if (n == 0) {
                continue;
            }
            // the outage: from the database's stop to its return
            XYSeries mark = chart.addSeries("database down", List.of(Date.from(outage), Date.from(back)), List.of(0.0, 0.0));
            mark.setLineColor(Color.RED);
            mark.setLineWidth(3f);
            mark.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
            images.add(BitmapEncoder.getBufferedImage(chart));
        }
        BufferedImage sheet = new BufferedImage(1280, 300 * ((images.size() + 1) / 2), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, sheet.getWidth(), sheet.getHeight());
        for (int i = 0; i < images.size(); i++) {
            g.drawImage(images.get(i), (i % 2) * 640, (i / 2) * 300, null);
        }
        g.dispose();
        Path out = Path.of("target", "dashboard", "dashboard-outage-and-drain.png");
        Files.createDirectories(out.getParent());
        ImageIO.write(sheet, "png", out.toFile());
        String docs = System.getProperty("dashboard.pictures");
        if (docs != null && !docs.isBlank()) {
            Files.copy(out, Path.of(docs).resolve(out.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        assertThat(images).hasSize(wanted.size());
    }

    private static String legend(String format, JsonNode metric) {
        Matcher m = Pattern.compile("\\{\\{(\\w+)}}").matcher(format);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(metric.path(m.group(1)).asText()));
        }
        m.appendTail(out);
        return out.toString();
    }

    // ----- Prometheus's HTTP API -----------------------------------------------------------------------

    private String expr(String alert) throws IOException {
        Matcher m = Pattern.compile("(?m)^\\s+- alert: " + alert + "\\n\\s+expr: (.+)$")
                .matcher(Files.readString(DOCS.resolve("prometheus-rules.yml")));
        assertThat(m.find()).isTrue();
        return m.group(1).trim();
    }

    private boolean firing(String alert) {
        for (JsonNode a : json(get("/api/v1/alerts").body()).at("/data/alerts")) {
            if (alert.equals(a.at("/labels/alertname").asText()) && "firing".equals(a.get("state").asText())) {
                return true;
            }
        }
        return false;
    }

    private JsonNode query(String expr) {
        return json(get("/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8)).body());
    }

    private JsonNode range(String expr, Instant from, Instant to) {
        HttpResponse<String> r = get("/api/v1/query_range?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8)
                + "&start=" + from.getEpochSecond() + "&end=" + (to.getEpochSecond() + 1) + "&step=1");
        assertThat(r.statusCode()).as(expr + ": " + r.body()).isEqualTo(200);
        return json(r.body()).at("/data/result");
    }

    private HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + prometheusPort + path)).GET());
    }

    private HttpResponse<String> read(String tenant, UUID user) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + serviceToken).GET());
    }

    /** Prometheus has scraped the state reached a few times (one scrape a second): the pictures show each phase. */
    private void pause(int scrapes) {
        double after = Instant.now().toEpochMilli() / 1000.0 + scrapes;
        await().atMost(Duration.ofSeconds(30 + scrapes)).pollInterval(Duration.ofMillis(250)).until(() -> {
            JsonNode last = query("timestamp(up)").at("/data/result/0/value/1");
            return !last.isMissingNode() && Double.parseDouble(last.asText()) >= after;
        });
    }

    private record ProcessResult(int code, String output) {
    }

    private static ProcessResult run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new ProcessResult(p.waitFor(), output);
    }
}
