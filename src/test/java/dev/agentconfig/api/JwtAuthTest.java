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
import dev.agentconfig.testing.UserJwts;
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

    // ----- only a signed-in user's access token (role authenticated, aud authenticated) -------------

    private HttpResponse<String> putWith(UserJwts token, UUID as) {
        return putAs("Bearer " + token.sign(), tenant, as);
    }

    @Test
    void theProjectsAnonAndServiceRoleTokensAreRefusedEvenWithASub() {
        UUID me = UUID.randomUUID();
        for (String role : new String[] {"anon", "service_role"}) {
            HttpResponse<String> r = putWith(UserJwts.user(SECRET, tenant, me).with("role", role), me);
            assertStatus(r, 401);
            assertThat(json(r).get("detail").asText()).contains("role " + role);
        }
        HttpResponse<String> other = putWith(UserJwts.user(SECRET, tenant, me).with("role", "admin"), me);
        assertStatus(other, 401);
        assertThat(json(other).get("detail").asText()).contains("role is not authenticated");
        HttpResponse<String> none = putWith(UserJwts.user(SECRET, tenant, me).with("role", null), me);
        assertStatus(none, 401);
        assertThat(json(none).get("detail").asText()).contains("no role claim");
        assertThat(profileRow(me)).isEmpty();
        assertThat(settingsRow(me)).isEmpty();
    }

    @Test
    void theAudienceMustBeAuthenticated() {
        UUID me = UUID.randomUUID();
        HttpResponse<String> wrong = putWith(UserJwts.user(SECRET, tenant, me).with("aud", "anon"), me);
        assertStatus(wrong, 401);
        assertThat(json(wrong).get("detail").asText()).contains("audience not accepted");
        HttpResponse<String> none = putWith(UserJwts.user(SECRET, tenant, me).with("aud", null), me);
        assertStatus(none, 401);
        assertThat(json(none).get("detail").asText()).contains("no aud claim");
        HttpResponse<String> otherList = putWith(UserJwts.user(SECRET, tenant, me)
                .with("aud", java.util.List.of("anon", "other")), me);
        assertStatus(otherList, 401);
        assertThat(profileRow(me)).isEmpty();
        // aud as an array that names the audience is fine
        HttpResponse<String> list = putWith(UserJwts.user(SECRET, tenant, me)
                .with("aud", java.util.List.of("other", "authenticated")), me);
        assertThat(list.statusCode()).as(list.body()).isEqualTo(200);
        // no issuer is configured here: any iss (or none) is accepted
        HttpResponse<String> iss = putWith(UserJwts.user(SECRET, tenant, me).with("iss", "https://elsewhere"), me);
        assertThat(iss.statusCode()).as(iss.body()).isEqualTo(200);
    }

    @Test
    void aRefusedRoleCannotReadEither() {
        UUID me = UUID.randomUUID();
        assertThat(putAs("Bearer " + serviceToken, tenant, me).statusCode()).isEqualTo(200);
        String anon = UserJwts.user(SECRET, tenant, me).with("role", "anon").sign();
        HttpResponse<String> r = getAs("Bearer " + anon, "/api/v1/agent-config/" + tenant + "/" + me);
        assertStatus(r, 401);
        assertThat(r.body()).doesNotContain("agent_jwt");
        String ok = UserJwts.user(SECRET, tenant, me).sign();
        assertThat(getAs("Bearer " + ok, "/api/v1/agent-config/" + tenant + "/" + me).statusCode()).isEqualTo(200);
    }

    // ----- bounded lifetime (agentconfig.auth.max-token-lifetime, 24 h by default) and no future iat ------

    @Test
    void aTokenLivingLongerThanTheMaximumLifetimeIsRefused() {
        UUID me = UUID.randomUUID();
        Instant now = Instant.now();
        HttpResponse<String> year = putWith(UserJwts.user(SECRET, tenant, me).with("iat", now)
                .with("exp", now.plus(java.time.Duration.ofDays(365))), me);
        assertStatus(year, 401);
        assertThat(json(year).get("detail").asText()).contains("lifetime beyond 86400 s");
        // without iat the lifetime counts from now
        HttpResponse<String> noIat = putWith(UserJwts.user(SECRET, tenant, me).with("iat", null)
                .with("exp", now.plus(java.time.Duration.ofHours(25))), me);
        assertStatus(noIat, 401);
        assertThat(json(noIat).get("detail").asText()).contains("lifetime beyond");
        // issued a while ago with a 25 h lifetime: refused even though it expires within 24 h from now
        HttpResponse<String> issuedEarlier = putWith(UserJwts.user(SECRET, tenant, me)
                .with("iat", now.minus(java.time.Duration.ofHours(2)))
                .with("exp", now.plus(java.time.Duration.ofHours(23))), me);
        assertStatus(issuedEarlier, 401);
        assertThat(profileRow(me)).isEmpty();
        // exactly the maximum is fine
        HttpResponse<String> day = putWith(UserJwts.user(SECRET, tenant, me).with("iat", now)
                .with("exp", now.plus(java.time.Duration.ofHours(24))), me);
        assertThat(day.statusCode()).as(day.body()).isEqualTo(200);
    }

    @Test
    void aTokenIssuedInTheFutureIsRefused() {
        UUID me = UUID.randomUUID();
        Instant now = Instant.now();
        HttpResponse<String> future = putWith(UserJwts.user(SECRET, tenant, me).with("iat", now.plusSeconds(600))
                .with("exp", now.plusSeconds(1200)), me);
        assertStatus(future, 401);
        assertThat(json(future).get("detail").asText()).contains("issued in the future");
        assertThat(profileRow(me)).isEmpty();
        // within the clock skew (30 s) it is accepted
        HttpResponse<String> skew = putWith(UserJwts.user(SECRET, tenant, me).with("iat", now.plusSeconds(5)), me);
        assertThat(skew.statusCode()).as(skew.body()).isEqualTo(200);
    }
}
