package dev.agentconfig.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * Issue 21: docs/operations.md says the health failure is logged once per change. Before, the database
 * check's WARN line repeated on every probe of an outage: it compared the whole driver/pool text, which
 * changes from probe to probe ("timed out after 1001ms ... waiting=1").
 */
class HealthLogTest extends ServiceTestSupport {
    private static final String DOWN_LINE = "Health: database unreachable";
    private static final String BACK_LINE = "Health: the database and schema checks pass again";

    @Test
    void aStoppedDatabaseIsLoggedOnceHoweverManyProbesAskAndItsReturnOnce() {
        int mark = logs.lines().size();
        stopDatabase();
        try {
            for (int i = 0; i < 6; i++) {
                JsonNode database = health().get("checks").get("database");
                assertThat(database.get("status").asText()).as(database.toString()).isEqualTo("DOWN");
            }
        } finally {
            startDatabase();
        }
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> health().get("checks").get("database").get("status").asText().equals("UP"));
        health();
        List<String> lines = logs.lines().subList(mark, logs.lines().size());
        assertThat(lines.stream().filter(l -> l.contains(DOWN_LINE)).count()).as(String.join("\n", lines)).isEqualTo(1);
        assertThat(lines.stream().filter(l -> l.contains(BACK_LINE)).count()).as(String.join("\n", lines)).isEqualTo(1);
    }

    /**
     * Every pool connection held (load): the probe's "request timed out after 1001ms (total=10, active=10,
     * idle=0, waiting=1)" text changes from probe to probe; the cause does not. Before: one WARN per probe
     * whose text differed; after: one.
     */
    @Test
    void anExhaustedPoolIsLoggedOnceAlthoughThePoolsTextChanges() throws Exception {
        List<Connection> held = new ArrayList<>();
        int mark = logs.lines().size();
        try {
            // the service's own pool, every connection of it
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                try {
                    held.add(dataSource().getConnection());
                    return false;
                } catch (SQLException e) {
                    return true; // no more: the pool is exhausted
                }
            });
            for (int i = 0; i < 6; i++) {
                JsonNode database = health().get("checks").get("database");
                assertThat(database.get("status").asText()).as(database.toString()).isEqualTo("DOWN");
                assertThat(database.get("cause").asText()).isEqualTo("pool-exhausted");
            }
        } finally {
            for (Connection c : held) {
                c.close();
            }
        }
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> health().get("checks").get("database").get("status").asText().equals("UP"));
        List<String> lines = logs.lines().subList(mark, logs.lines().size());
        List<String> down = lines.stream().filter(l -> l.contains(DOWN_LINE)).toList();
        assertThat(down).as(String.join("\n", lines)).hasSize(1);
        assertThat(lines.stream().filter(l -> l.contains(BACK_LINE)).count()).isEqualTo(1);
    }

    private JsonNode health() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/observe/health")).GET());
        return json(r);
    }
}
