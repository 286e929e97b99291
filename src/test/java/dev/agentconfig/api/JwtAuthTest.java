package dev.agentconfig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/** Every authentication case of the front door, over the real HTTP server. */
class JwtAuthTest extends ServiceTestSupport {
    private static final String SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
    private final String tenant = "acme";
    private final UUID user = UUID.randomUUID();

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("agentconfig.auth.jwt-secret", SECRET);
        return p;
    }

    static String token(String secret, JWSAlgorithm alg, String sub, Object tenantId, Instant exp, Instant nbf) {
        try {
            JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
                    .subject(sub)
                    .claim("role", "authenticated")
                    .audience("authenticated")
                    .issueTime(new Date());
            if (tenantId != null) {
                claims.claim("app_metadata", Map.of("tenant_id", tenantId));
            }
            if (exp != null) {
                claims.expirationTime(Date.from(exp));
            }
            if (nbf != null) {
                claims.notBeforeTime(Date.from(nbf));
            }
            SignedJWT jwt = new SignedJWT(new JWSHeader(alg), claims.build());
            jwt.sign(new MACSigner(secret.getBytes()));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private String valid() {
        return token(SECRET, JWSAlgorithm.HS256, user.toString(), tenant, Instant.now().plusSeconds(600), null);
    }

    private HttpResponse<String> putAs(String authorization, String tenantId, UUID userId) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenantId + "/" + userId))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"callAgentId\":\"agent_jwt\"}"));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return send(b);
    }

    private HttpResponse<String> getAs(String authorization, String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).header("Authorization", authorization).GET());
    }

    private static void assertStatus(HttpResponse<String> r, int status) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        if (status == 401) {
            assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
        }
    }

    @Test
    void noHeader() {
        assertStatus(putAs(null, tenant, user), 401);
    }

    @Test
    void malformedHeader() {
        assertStatus(putAs("Token " + valid(), tenant, user), 401);
        assertStatus(putAs("Bearer", tenant, user), 401);
        assertStatus(putAs("Bearer not.a.jwt", tenant, user), 401);
        assertStatus(putAs("Bearer " + valid().substring(0, 40), tenant, user), 401);
    }

    @Test
    void badSignature() {
        String forged = token("another-secret-that-is-also-32-characters-long!!", JWSAlgorithm.HS256, user.toString(),
                tenant, Instant.now().plusSeconds(600), null);
        HttpResponse<String> r = putAs("Bearer " + forged, tenant, user);
        assertStatus(r, 401);
        assertThat(json(r).get("detail").asText()).contains("bad signature");
        assertThat(profileRow(user)).isEmpty();
    }

    @Test
    void expired() {
        String old = token(SECRET, JWSAlgorithm.HS256, user.toString(), tenant, Instant.now().minusSeconds(300), null);
        HttpResponse<String> r = putAs("Bearer " + old, tenant, user);
        assertStatus(r, 401);
        assertThat(json(r).get("detail").asText()).contains("expired");
        // within the clock skew it is still accepted
        String justExpired = token(SECRET, JWSAlgorithm.HS256, user.toString(), tenant, Instant.now().minusSeconds(5), null);
        assertThat(putAs("Bearer " + justExpired, tenant, user).statusCode()).isEqualTo(200);
    }

    @Test
    void notYetValid() {
        String early = token(SECRET, JWSAlgorithm.HS256, user.toString(), tenant, Instant.now().plusSeconds(900),
                Instant.now().plusSeconds(300));
        HttpResponse<String> r = putAs("Bearer " + early, tenant, user);
        assertStatus(r, 401);
        assertThat(json(r).get("detail").asText()).contains("not yet valid");
    }

    @Test
    void wrongUser() {
        UUID other = UUID.randomUUID();
        assertStatus(putAs("Bearer " + valid(), tenant, other), 403);
        assertThat(profileRow(other)).isEmpty();
    }

    @Test
    void wrongTenant() {
        assertStatus(putAs("Bearer " + valid(), "globex", user), 403);
        String noTenant = token(SECRET, JWSAlgorithm.HS256, user.toString(), null, Instant.now().plusSeconds(600), null);
        assertStatus(putAs("Bearer " + noTenant, tenant, user), 401);
    }

    @Test
    void algNoneAndOtherAlgorithmsAreRefused() {
        UUID user = UUID.randomUUID();
        String none = new PlainJWT(new JWTClaimsSet.Builder().subject(user.toString())
                .claim("app_metadata", Map.of("tenant_id", tenant))
                .expirationTime(Date.from(Instant.now().plusSeconds(600))).build()).serialize();
        HttpResponse<String> r = putAs("Bearer " + none, tenant, user);
        assertStatus(r, 401);
        assertThat(json(r).get("detail").asText()).contains("alg none");
        String hs512 = token(SECRET + SECRET, JWSAlgorithm.HS512, user.toString(), tenant, Instant.now().plusSeconds(600), null);
        HttpResponse<String> r512 = putAs("Bearer " + hs512, tenant, user);
        assertStatus(r512, 401);
        assertThat(json(r512).get("detail").asText()).contains("HS512");
        assertThat(profileRow(user)).isEmpty();
    }

    @Test
    void theServiceTokenMaySaveForAnyone() {
        UUID anyone = UUID.randomUUID();
        assertThat(putAs("Bearer " + serviceToken, "any-tenant", anyone).statusCode()).isEqualTo(200);
    }

    @Test
    void aUserSavesAndReadsItsOwnConfigurationButCannotReveal() {
        UUID me = UUID.randomUUID();
        String mine = token(SECRET, JWSAlgorithm.HS256, me.toString(), tenant, Instant.now().plusSeconds(600), null);
        String key = newKey();
        HttpResponse<String> saved = send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/agent-config/" + tenant + "/" + me))
                .header("Authorization", "Bearer " + mine).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"retellApiKey\":\"" + key + "\",\"smsAgentId\":\"s_me\"}")));
        assertThat(saved.statusCode()).as(saved.body()).isEqualTo(200);

        HttpResponse<String> read = getAs("Bearer " + mine, "/api/v1/agent-config/" + tenant + "/" + me);
        assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
        assertThat(json(read).get("smsAgentId").asText()).isEqualTo("s_me");
        assertThat(read.body()).doesNotContain(key);

        HttpResponse<String> reveal = getAs("Bearer " + mine, "/api/v1/agent-config/" + tenant + "/" + me + "?reveal=true");
        assertStatus(reveal, 403);
        assertThat(reveal.body()).doesNotContain(key);
    }

    @Test
    void aUserCannotUseServiceEndpoints() {
        assertStatus(getAs("Bearer " + valid(), "/observe/metrics"), 403);
        assertThat(getAs("Bearer " + serviceToken, "/observe/metrics").statusCode()).isEqualTo(200);
    }

    @Test
    void logsCarryTheReasonNeverTheToken() {
        String forged = token("another-secret-that-is-also-32-characters-long!!", JWSAlgorithm.HS256, user.toString(),
                tenant, Instant.now().plusSeconds(600), null);
        putAs("Bearer " + forged, tenant, user);
        putAs("Bearer " + valid(), tenant, UUID.randomUUID());
        assertThat(logs.text()).contains("user JWT refused: bad signature").contains("Refused a user JWT: it is for another user");
        assertThat(logs.text()).doesNotContain(forged).doesNotContain(valid().split("\\.")[2]).doesNotContain(serviceToken)
                .doesNotContain(SECRET).doesNotContain(java.util.Base64.getEncoder().encodeToString(encryptionKey));
    }
}
