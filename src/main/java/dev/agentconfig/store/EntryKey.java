package dev.agentconfig.store;

/** The key of one local-store entry: a (tenant, user) pair. */
public record EntryKey(String tenantId, String userId) {
    @Override
    public String toString() {
        return tenantId + "/" + userId;
    }
}
