package dev.agentconfig.core;

/** The user already belongs to another tenant: the save is refused and nothing is written anywhere. */
public final class TenantConflict extends RuntimeException {
    public TenantConflict(UserKey user, String detail) {
        super("user " + user.userId() + " is registered under another tenant" + (detail == null ? "" : "; " + detail),
                null, false, false);
    }
}
