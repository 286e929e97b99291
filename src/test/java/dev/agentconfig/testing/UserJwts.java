package dev.agentconfig.testing;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

/**
 * Supabase-shaped user access tokens for tests: HS256, {@code sub}, {@code role: authenticated},
 * {@code aud: authenticated}, {@code app_metadata.tenant_id}, a 10-minute {@code exp}. A test
 * changes or removes single claims with {@link #with(String, Object)} (a null value removes it).
 */
public final class UserJwts {
    private final String secret;
    private final Map<String, Object> claims = new LinkedHashMap<>();

    private UserJwts(String secret) {
        this.secret = secret;
    }

    /** A valid access token of an authenticated user of {@code tenant}. */
    public static UserJwts user(String secret, String tenant, UUID user) {
        UserJwts t = new UserJwts(secret);
        t.claims.put("sub", user.toString());
        t.claims.put("role", "authenticated");
        t.claims.put("aud", "authenticated");
        t.claims.put("app_metadata", Map.of("tenant_id", tenant));
        t.claims.put("exp", Instant.now().plusSeconds(600));
        t.claims.put("iat", Instant.now());
        return t;
    }

    /** Sets a claim; null removes it. Instants become NumericDates. */
    public UserJwts with(String claim, Object value) {
        if (value == null) {
            claims.remove(claim);
        } else {
            claims.put(claim, value);
        }
        return this;
    }

    public String sign() {
        JWTClaimsSet.Builder b = new JWTClaimsSet.Builder();
        claims.forEach((k, v) -> b.claim(k, v instanceof Instant i ? Date.from(i) : v));
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), b.build());
            jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
