package dev.agentconfig.core;

import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/** The three configuration fields, with their JSON names and validation rules. */
public enum Field {
    RETELL_API_KEY("retellApiKey", Pattern.compile("[\\x21-\\x7E]{8,256}"),
            "must be 8 to 256 printable ASCII characters without whitespace"),
    CALL_AGENT_ID("callAgentId", Pattern.compile("[A-Za-z0-9_-]{1,128}"),
            "must be 1 to 128 characters of A-Z, a-z, 0-9, '_' or '-'"),
    SMS_AGENT_ID("smsAgentId", Pattern.compile("[A-Za-z0-9_-]{1,128}"),
            "must be 1 to 128 characters of A-Z, a-z, 0-9, '_' or '-'");

    private final String json;
    private final Pattern rule;
    private final String ruleText;

    Field(String json, Pattern rule, String ruleText) {
        this.json = json;
        this.rule = rule;
        this.ruleText = ruleText;
    }

    /** The camelCase name used in JSON, in field_versions and in the local store. */
    public String json() {
        return json;
    }

    /** Only the API key is a secret: sealed before it leaves the save, masked when read. */
    public boolean secret() {
        return this == RETELL_API_KEY;
    }

    public boolean valid(String value) {
        return value != null && rule.matcher(value).matches();
    }

    public String ruleText() {
        return ruleText;
    }

    /** Associated data of a sealed value: binds the ciphertext to its tenant, user and field. */
    public String associatedData(String tenantId, UUID userId) {
        return tenantId + ":" + userId + ":" + json;
    }

    public static Optional<Field> byJson(String name) {
        for (Field f : values()) {
            if (f.json.equals(name)) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }
}
