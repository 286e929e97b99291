package dev.agentconfig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Properties;
import java.util.UUID;

import dev.agentconfig.testing.ServiceTestSupport;
import dev.agentconfig.testing.UserJwts;
import org.junit.jupiter.api.Test;

/** agentconfig.auth.issuer and agentconfig.auth.audience, configured: both are checked. */
class JwtIssuerTest extends ServiceTestSupport {
    private static final String SECRET = "jwt-issuer-test-secret-0123456789abcdef0123456789";
    private static final String ISSUER = "https://abcdefghijklmnop.supabase.co/auth/v1";
    private static final String AUDIENCE = "agent-config";
    private final String tenant = newTenant();

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.auth.jwt-secret", SECRET);
        p.setProperty("agentconfig.auth.issuer", ISSUER);
        p.setProperty("agentconfig.auth.audience", AUDIENCE);
        return p;
    }

    private HttpResponse<String> put(UserJwts token, UUID user) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + user))
                .header("Authorization", "Bearer " + token.sign()).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"agent_iss\"}")));
    }

    private static void assertRefused(HttpResponse<String> r, String reason) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
        assertThat(json(r).get("detail").asText()).contains(reason);
    }

    @Test
    void theIssuerMustMatchWhenConfigured() {
        UUID me = newUser();
        assertRefused(put(UserJwts.user(SECRET, tenant, me).with("aud", AUDIENCE), me), "no iss claim");
        assertRefused(put(UserJwts.user(SECRET, tenant, me).with("aud", AUDIENCE).with("iss", "https://evil.example/auth/v1"), me),
                "issuer not accepted");
        assertThat(profileRow(me)).isEmpty();
        HttpResponse<String> ok = put(UserJwts.user(SECRET, tenant, me).with("aud", AUDIENCE).with("iss", ISSUER), me);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(profileRow(me)).isPresent();
    }

    @Test
    void theConfiguredAudienceReplacesTheDefault() {
        UUID me = newUser();
        // the default audience "authenticated" is not this service's audience here
        assertRefused(put(UserJwts.user(SECRET, tenant, me).with("iss", ISSUER), me), "audience not accepted");
        assertThat(profileRow(me)).isEmpty();
        // the role is checked all the same
        assertRefused(put(UserJwts.user(SECRET, tenant, me).with("iss", ISSUER).with("aud", AUDIENCE)
                .with("role", "service_role"), me), "role service_role");
    }
}
