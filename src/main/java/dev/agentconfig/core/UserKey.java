package dev.agentconfig.core;

import java.util.Locale;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Whose configuration: a tenant and a user. The identifier rules of the contract live here:
 * everything that names a tenant or user passes through {@link #of(String, String)}.
 */
public record UserKey(String tenantId, UUID userId) {
    private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
    private static final Pattern UUID_TEXT = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    public static final String TENANT_RULE = "tenantId must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$";
    public static final String USER_RULE = "userId must be a UUID such as 3f2b8c1e-5d4a-4b6f-9a0e-1c2d3e4f5a6b";

    public UserKey {
        Objects.requireNonNull(userId, "userId");
        if (!validTenant(tenantId)) {
            throw new InvalidSave(TENANT_RULE);
        }
    }

    /** Validates both identifiers (400-class {@link InvalidSave} otherwise); the user id is lower-cased. */
    public static UserKey of(String tenantId, String userId) {
        if (!validTenant(tenantId)) {
            throw new InvalidSave(TENANT_RULE);
        }
        return new UserKey(tenantId, user(userId));
    }

    public static UUID user(String value) {
        if (!validUser(value)) {
            throw new InvalidSave(USER_RULE);
        }
        return UUID.fromString(value.toLowerCase(Locale.ROOT));
    }

    public static boolean validTenant(String value) {
        return value != null && TENANT.matcher(value).matches();
    }

    public static boolean validUser(String value) {
        return value != null && UUID_TEXT.matcher(value).matches();
    }

    @Override
    public String toString() {
        return tenantId + "/" + userId;
    }
}
