package dev.agentconfig.api;

import java.util.Optional;

import dev.agentconfig.core.UserKey;
import org.apache.camel.Exchange;

/**
 * Whose configuration a request is about: the {@code {tenantId}/{userId}} of its path, checked
 * against the credential by {@link HttpGuard#authenticate}, which puts it in the exchange property
 * {@link #PROPERTY}. The routes behind the front door take the identity from there and nowhere
 * else: not from headers, query parameters or body fields.
 */
public record PathIdentity(String tenantId, String userId) {
    public static final String PROPERTY = "agentconfig.path";
    /** The path parameters as platform-http hands them over (message headers set from the path). */
    static final String TENANT_PARAMETER = "tenantId";
    static final String USER_PARAMETER = "userId";

    /** The identity as a valid tenant and user (400 {@code InvalidSave} otherwise). */
    public UserKey user() {
        return UserKey.of(tenantId, userId);
    }

    /** The identity when it is a valid one, else null (for the audit of a refused request). */
    public UserKey validUserOrNull() {
        return UserKey.validTenant(tenantId) && UserKey.validUser(userId) ? UserKey.of(tenantId, userId) : null;
    }

    /** The checked identity of this request; a route behind the front door that has none is a bug. */
    public static PathIdentity of(Exchange exchange) {
        return find(exchange).orElseThrow(() -> new IllegalStateException(
                "no path identity on this exchange (the front door did not authenticate it)"));
    }

    public static Optional<PathIdentity> find(Exchange exchange) {
        return Optional.ofNullable(exchange.getProperty(PROPERTY, PathIdentity.class));
    }

    /**
     * The path parameters of an endpoint with {@code {tenantId}/{userId}}, or empty for one without.
     * HttpHeaderFilter keeps outside headers and query parameters of these names out; a value that is
     * not a single string (the same name twice) is refused all the same.
     */
    static Optional<PathIdentity> fromPathParameters(Exchange exchange) {
        Object tenant = exchange.getMessage().getHeader(TENANT_PARAMETER);
        Object user = exchange.getMessage().getHeader(USER_PARAMETER);
        if (tenant == null && user == null) {
            return Optional.empty();
        }
        if (!(tenant instanceof String t) || !(user instanceof String u)) {
            throw Problem.badRequest("the path must name exactly one tenant and one user");
        }
        return Optional.of(new PathIdentity(t, u));
    }
}
