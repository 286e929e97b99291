package dev.agentconfig.api;

import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;

/**
 * Supabase user JWTs: HS256 signed with the project's JWT secret, nothing else, and only an
 * authenticated user's access token: {@code role} must be {@code authenticated} (the project's
 * anon and service_role keys are JWTs signed with the same secret), {@code aud} must name the
 * configured audience, and {@code iss} must be the configured issuer when one is set. Each refusal
 * says why (for the log and the 401), never what the token was.
 */
public final class UserTokens {
    /** The role claim of a signed-in user's access token (Supabase). */
    static final String AUTHENTICATED_ROLE = "authenticated";
    /** Roles whose name may be repeated in a refusal: the well-known ones, never a caller's free text. */
    private static final java.util.Set<String> KNOWN_ROLES = java.util.Set.of("anon", "service_role",
            "supabase_admin", "postgres");

    private final MACVerifier verifier;
    private final String[] tenantClaimPath;
    private final Duration clockSkew;
    private final Duration maxLifetime;
    private final String audience;
    private final Optional<String> issuer;

    /**
     * @param maxLifetime the longest a token may live: exp - iat (exp - now without iat) beyond it is refused
     *                    (agentconfig.auth.max-token-lifetime)
     */
    public UserTokens(String jwtSecret, String tenantClaim, Duration clockSkew, Duration maxLifetime, String audience,
                      Optional<String> issuer) {
        if (maxLifetime == null || maxLifetime.isNegative() || maxLifetime.isZero()) {
            throw new IllegalStateException("agentconfig.auth.max-token-lifetime must be a positive duration");
        }
        this.maxLifetime = maxLifetime;
        if (audience == null || audience.isBlank()) {
            throw new IllegalStateException("agentconfig.auth.audience must name the audience of user tokens");
        }
        this.audience = audience;
        this.issuer = issuer.filter(i -> !i.isBlank());
        byte[] secret = jwtSecret.getBytes(StandardCharsets.UTF_8);
        if (secret.length < 32) {
            throw new IllegalStateException("agentconfig.auth.jwt-secret must be at least 32 bytes (HS256)");
        }
        try {
            this.verifier = new MACVerifier(secret);
        } catch (JOSEException e) {
            throw new IllegalStateException("agentconfig.auth.jwt-secret is not usable: " + e.getMessage());
        }
        this.tenantClaimPath = tenantClaim.split("\\.");
        this.clockSkew = clockSkew;
    }

    /** The verified identity in a token, or the reason it is refused. */
    public sealed interface Result permits Valid, Refused {
    }

    public record Valid(String subject, String tenant) implements Result {
    }

    public record Refused(String reason) implements Result {
    }

    public static boolean looksLikeJwt(String token) {
        return token.chars().filter(c -> c == '.').count() == 2;
    }

    public Result verify(String token, Instant now) {
        JWT jwt;
        try {
            jwt = JWTParser.parse(token);
        } catch (ParseException e) {
            return new Refused("malformed token");
        }
        if (!(jwt instanceof SignedJWT signed)) {
            return new Refused("unsigned token (alg none) refused");
        }
        JWSAlgorithm alg = signed.getHeader().getAlgorithm();
        if (!JWSAlgorithm.HS256.equals(alg)) {
            return new Refused("algorithm " + alg + " not accepted (HS256 only)");
        }
        try {
            if (!signed.verify(verifier)) {
                return new Refused("bad signature");
            }
        } catch (JOSEException e) {
            return new Refused("signature cannot be verified");
        }
        JWTClaimsSet claims;
        try {
            claims = signed.getJWTClaimsSet();
        } catch (ParseException e) {
            return new Refused("malformed claims");
        }
        Date exp = claims.getExpirationTime();
        if (exp == null) {
            return new Refused("no exp claim");
        }
        if (now.isAfter(exp.toInstant().plus(clockSkew))) {
            return new Refused("expired");
        }
        // a token that never expires in practice is a stolen credential that never expires: bounded
        Date iat = claims.getIssueTime();
        if (iat != null && iat.toInstant().isAfter(now.plus(clockSkew))) {
            return new Refused("issued in the future (iat)");
        }
        Instant from = iat != null ? iat.toInstant() : now;
        if (exp.toInstant().isAfter(from.plus(maxLifetime).plus(clockSkew))) {
            return new Refused("lifetime beyond " + maxLifetime.toSeconds() + " s (agentconfig.auth.max-token-lifetime)");
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && now.isBefore(nbf.toInstant().minus(clockSkew))) {
            return new Refused("not yet valid");
        }
        Object role = claims.getClaim("role");
        if (!(role instanceof String r) || r.isBlank()) {
            return new Refused("no role claim");
        }
        if (!AUTHENTICATED_ROLE.equals(r)) {
            return new Refused(KNOWN_ROLES.contains(r) ? "role " + r + " is not a signed-in user"
                    : "role is not " + AUTHENTICATED_ROLE);
        }
        List<String> aud = claims.getAudience();
        if (aud == null || aud.isEmpty()) {
            return new Refused("no aud claim");
        }
        if (!aud.contains(audience)) {
            return new Refused("audience not accepted");
        }
        if (issuer.isPresent()) {
            String iss = claims.getIssuer();
            if (iss == null || iss.isBlank()) {
                return new Refused("no iss claim");
            }
            if (!issuer.get().equals(iss)) {
                return new Refused("issuer not accepted");
            }
        }
        String sub = claims.getSubject();
        if (sub == null || sub.isBlank()) {
            return new Refused("no sub claim");
        }
        Optional<String> tenant = tenantOf(claims.getClaims());
        if (tenant.isEmpty()) {
            return new Refused("no tenant claim " + String.join(".", tenantClaimPath));
        }
        return new Valid(sub, tenant.get());
    }

    @SuppressWarnings("unchecked")
    private Optional<String> tenantOf(Map<String, Object> claims) {
        Object node = claims;
        for (String part : tenantClaimPath) {
            if (!(node instanceof Map<?, ?> m)) {
                return Optional.empty();
            }
            node = ((Map<String, Object>) m).get(part);
        }
        return node instanceof String s && !s.isBlank() ? Optional.of(s) : Optional.empty();
    }
}
