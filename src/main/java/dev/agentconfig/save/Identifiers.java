package dev.agentconfig.save;

import java.util.Locale;
import java.util.UUID;
import java.util.regex.Pattern;

import dev.agentconfig.api.Problem;

/** The identifier rules of the contract; everything that names a tenant or user passes here. */
public final class Identifiers {
    private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
    private static final Pattern UUID_TEXT = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private Identifiers() {
    }

    public static String tenant(String value) {
        if (value == null || !TENANT.matcher(value).matches()) {
            throw Problem.badRequest("tenantId must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$");
        }
        return value;
    }

    public static UUID user(String value) {
        if (value == null || !UUID_TEXT.matcher(value).matches()) {
            throw Problem.badRequest("userId must be a UUID such as 3f2b8c1e-5d4a-4b6f-9a0e-1c2d3e4f5a6b");
        }
        return UUID.fromString(value.toLowerCase(Locale.ROOT));
    }

    public static boolean validTenant(String value) {
        return value != null && TENANT.matcher(value).matches();
    }

    public static boolean validUser(String value) {
        return value != null && UUID_TEXT.matcher(value).matches();
    }
}
