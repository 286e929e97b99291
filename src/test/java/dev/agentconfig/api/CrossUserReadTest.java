package dev.agentconfig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.testing.ServiceTestSupport;
import dev.agentconfig.testing.UserJwts;
import org.apache.camel.model.Model;
import org.apache.camel.model.rest.RestDefinition;
import org.apache.camel.model.rest.VerbDefinition;
import org.junit.jupiter.api.Test;

/**
 * No user reads another user's configuration. Every GET the REST DSL serves under a per-user path
 * ({@code {tenantId}/{userId}}, collected from the running service's rest definitions, which come from
 * routes/api-*.camel.yaml: an endpoint added later is covered without changing this test) is asked
 * with user A's token for user B's path, for A's own user id under another tenant and for B's id
 * under another tenant, plain and with {@code ?reveal=true} and {@code ?reveal=false}: 403 problem+json, and nothing of B's configuration in the body. The same
 * requests with B's own token show B's values, so the body check would see a leak. A path that names a save
 * ({@code {saveId}}, a receipt) is asked with B's save, and with A's own save under B's path.
 */
class CrossUserReadTest extends ServiceTestSupport {
    private static final String SECRET = "cross-user-read-test-secret-0123456789abcdef0123";
    private static final List<String> QUERIES = List.of("", "?reveal=true", "?reveal=false");
    private final Map<UUID, String> saveIds = new HashMap<>();

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.auth.jwt-secret", SECRET);
        return p;
    }

    /** The per-user GET paths the service serves, as templates with {tenantId} and {userId}. */
    private List<String> perUserGetPaths() {
        List<String> paths = new ArrayList<>();
        for (RestDefinition rest : context.getCamelContextExtension().getContextPlugin(Model.class).getRestDefinitions()) {
            for (VerbDefinition verb : rest.getVerbs()) {
                String path = join(rest.getPath(), verb.getPath());
                if ("get".equals(verb.asVerb()) && path.contains("{tenantId}") && path.contains("{userId}")) {
                    paths.add(path);
                }
            }
        }
        return paths;
    }

    private static String join(String base, String path) {
        String b = base == null ? "" : base;
        String p = path == null ? "" : path;
        return (b + "/" + p).replaceAll("/+", "/").replaceAll("(.)/$", "$1");
    }

    @Test
    void aUserTokenReadsNoOtherUsersConfigurationOnAnyPerUserGet() {
        List<String> templates = perUserGetPaths();
        // the enumeration itself: the two documented reads at least (an empty list would make the test vacuous)
        assertThat(templates).contains("/api/v1/agent-config/{tenantId}/{userId}",
                "/api/v1/agent-config/{tenantId}/{userId}/diagnostics",
                "/api/v1/agent-config/{tenantId}/{userId}/saves/{saveId}",
                "/api/v1/agent-config/{tenantId}/{userId}/history");

        String tenant = newTenant();
        String otherTenant = newTenant();
        UUID userA = newUser();
        UUID userB = newUser();
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        String callB = "call_of_b_" + suffix;
        String smsB = "sms_of_b_" + suffix;
        String keyB = newKey();
        // B's first call agent id, replaced by the next save: B's history holds it
        String firstCallB = "first_call_of_b_" + suffix;
        assertThat(put(tenant, userB, "{\"callAgentId\":\"" + firstCallB + "\"}").statusCode()).isEqualTo(200);
        HttpResponse<String> savedB = put(tenant, userB, "{\"retellApiKey\":\"" + keyB + "\",\"callAgentId\":\""
                + callB + "\",\"smsAgentId\":\"" + smsB + "\"}");
        assertThat(savedB.statusCode()).isEqualTo(200);
        HttpResponse<String> savedA = put(tenant, userA, "{\"callAgentId\":\"call_of_a_" + suffix + "\"}");
        assertThat(savedA.statusCode()).isEqualTo(200);
        // a path that names a save ({saveId}: a receipt) is asked with B's save; it shows no value, but its saveId
        saveIds.put(userB, json(savedB).get("saveId").asText());
        saveIds.put(userA, json(savedA).get("saveId").asText());
        String tokenA = UserJwts.user(SECRET, tenant, userA).sign();
        String tokenB = UserJwts.user(SECRET, tenant, userB).sign();
        List<String> b = List.of(callB, smsB, keyB, FieldCipher.mask(keyB), firstCallB);

        int asked = 0;
        for (String template : templates) {
            // B on B's own path sees B's values: a leak to A would be seen by the same check
            HttpResponse<String> own = get(tokenB, path(template, tenant, userB));
            assertThat(own.statusCode()).as("B on B's %s: %s", template, own.body()).isEqualTo(200);
            assertThat(own.body()).as("B on B's %s", template)
                    .contains(template.contains("{saveId}") ? saveIds.get(userB)
                            : template.endsWith("/history") ? firstCallB : callB);
            HttpResponse<String> ownA = get(tokenA, path(template, tenant, userA));
            assertThat(ownA.statusCode()).as("A on A's %s: %s", template, ownA.body()).isEqualTo(200);

            for (String query : QUERIES) {
                // B's path; A's own user id under another tenant; B's id under another tenant
                for (String target : List.of(path(template, tenant, userB), path(template, otherTenant, userA),
                        path(template, otherTenant, userB), path(template, tenant, userB, userA))) {
                    HttpResponse<String> r = get(tokenA, target + query);
                    assertThat(r.statusCode()).as("A's token on %s%s: %s", target, query, r.body()).isEqualTo(403);
                    assertThat(r.headers().firstValue("Content-Type")).as("%s%s", target, query)
                            .hasValue("application/problem+json");
                    assertThat(json(r).get("status").asInt()).isEqualTo(403);
                    for (String value : b) {
                        assertThat(r.body()).as("A's token on %s%s", target, query).doesNotContain(value);
                    }
                    asked++;
                }
            }
        }
        assertThat(asked).isEqualTo(templates.size() * QUERIES.size() * 4);
    }

    /** The template for the user; a {saveId} is that user's own save. */
    private String path(String template, String tenant, UUID user) {
        return path(template, tenant, user, user);
    }

    /** The template for the user; a {saveId} is the save of {@code saveOf} (A's own save under B's path). */
    private String path(String template, String tenant, UUID user, UUID saveOf) {
        return template.replace("{tenantId}", tenant).replace("{userId}", user.toString())
                .replace("{saveId}", saveIds.getOrDefault(saveOf, UUID.randomUUID().toString()));
    }

    private HttpResponse<String> get(String token, String pathAndQuery) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + pathAndQuery))
                .header("Authorization", "Bearer " + token).GET());
    }
}
