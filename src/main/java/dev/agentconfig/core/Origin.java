package dev.agentconfig.core;

import java.util.Locale;

/** The front door a save came through. Only a front door decides who is saved. */
public enum Origin {
    /** PUT /api/v1/agent-config/{tenantId}/{userId}: identity from the path, checked against the credential. */
    HTTP,
    /** A JSON file in {@code <data-dir>/inbox/}: identity from the message (the operator's own directory). */
    INBOX,
    /** A record of the Kafka saves topic: identity from the record. */
    KAFKA,
    /** The sync replaying a local-store entry: identity and versions from the entry. */
    REPLAY,
    /** POST …/history/{changeId}/restore: a value that lost, saved again as a new edit (identity from the path). */
    RESTORE,
    /** The seed's plaintext key found in user_settings, sealed and saved at the version of the save that found it. */
    LEGACY_KEY;

    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
