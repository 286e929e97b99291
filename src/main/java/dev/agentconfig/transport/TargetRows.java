package dev.agentconfig.transport;

import java.util.EnumMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.json.Json;

/**
 * What a save writes into each table, and what the table answers, in the shapes both transports
 * send (JDBC parameters, PostgREST JSON): the one place that maps fields to columns. A field the save
 * does not carry is absent (the table keeps it: the guard trigger merges per field); a cleared field
 * is a JSON null.
 */
public final class TargetRows {
    private TargetRows() {
    }

    /** user_profiles: encrypted_retell_api_key, encrypted_agent_config {call_agent_id, sms_agent_id}, field_versions. */
    public record ProfileRow(String userId, String tenantId, String encryptedApiKey, String agentConfig,
                             String fieldVersions) {
        @Override
        public String toString() {
            return "ProfileRow[" + tenantId + "/" + userId + " " + fieldVersions + "]";
        }
    }

    /** The arguments of update_user_api_keys: retell_config (agent ids only), encrypted_api_keys, field_versions. */
    public record SettingsArgs(String userId, String tenantId, String retellConfig, String encryptedApiKeys,
                               String fieldVersions) {
        @Override
        public String toString() {
            return "SettingsArgs[" + tenantId + "/" + userId + " " + fieldVersions + "]";
        }
    }

    public static ProfileRow profile(SealedSave save) {
        ObjectNode config = Json.MAPPER.createObjectNode();
        put(config, save, Field.CALL_AGENT_ID, "call_agent_id");
        put(config, save, Field.SMS_AGENT_ID, "sms_agent_id");
        return new ProfileRow(save.userId().toString(), save.tenantId(), save.value(Field.RETELL_API_KEY),
                config.toString(), versions(save).toString());
    }

    public static SettingsArgs settings(SealedSave save) {
        ObjectNode config = Json.MAPPER.createObjectNode();
        put(config, save, Field.CALL_AGENT_ID, "call_agent_id");
        put(config, save, Field.SMS_AGENT_ID, "sms_agent_id");
        ObjectNode keys = Json.MAPPER.createObjectNode();
        put(keys, save, Field.RETELL_API_KEY, "retell_api_key");
        return new SettingsArgs(save.userId().toString(), save.tenantId(), config.toString(), keys.toString(),
                versions(save).toString());
    }

    /** user_profiles answered with the row's field_versions (text, or null when no row came back). */
    public static TargetOutcome profileWritten(SealedSave save, String fieldVersions) {
        JsonNode stored = fieldVersions == null ? null : Json.tree(fieldVersions);
        return TargetOutcome.written(Target.USER_PROFILES, save, versionsOf(stored));
    }

    /** update_user_api_keys answered {"success":…, "field_versions":{…}, "legacy_api_key"?:"…"}. */
    public static TargetOutcome settingsWritten(SealedSave save, String answer) {
        JsonNode doc = answer == null ? null : Json.tree(answer);
        String legacy = null;
        JsonNode stored = null;
        if (doc != null && doc.has("field_versions")) {
            JsonNode l = doc.get("legacy_api_key");
            legacy = l != null && l.isTextual() ? l.textValue() : null;
            stored = doc.get("field_versions");
        }
        return TargetOutcome.written(Target.USER_SETTINGS, save, versionsOf(stored), legacy);
    }

    /** A field_versions document as versions per field (entries that are not integers are ignored). */
    public static Map<Field, Long> versionsOf(JsonNode stored) {
        Map<Field, Long> m = new EnumMap<>(Field.class);
        if (stored != null && stored.isObject()) {
            for (Field f : Field.values()) {
                JsonNode v = stored.get(f.json());
                if (v != null && v.canConvertToLong() && v.isIntegralNumber()) {
                    m.put(f, v.asLong());
                }
            }
        }
        return m;
    }

    private static void put(ObjectNode node, SealedSave save, Field field, String column) {
        if (save.has(field)) {
            String v = save.value(field);
            if (v == null) {
                node.putNull(column);
            } else {
                node.put(column, v);
            }
        }
    }

    private static ObjectNode versions(SealedSave save) {
        ObjectNode v = Json.MAPPER.createObjectNode();
        save.versions().forEach((f, version) -> v.put(f.json(), version));
        return v;
    }

    /** A user_profiles row as a read sees it (jsonb as text). */
    public record ProfileRecord(String encryptedApiKey, String agentConfig, String fieldVersions,
                                java.time.Instant updatedAt) {
        @Override
        public String toString() {
            return "ProfileRecord[" + fieldVersions + "]";
        }
    }

    /** A user_settings row as a read sees it (jsonb as text). */
    public record SettingsRecord(String retellConfig, String encryptedApiKeys, String fieldVersions,
                                 java.time.Instant apiKeyUpdatedAt, java.time.Instant updatedAt) {
        @Override
        public String toString() {
            return "SettingsRecord[" + fieldVersions + "]";
        }
    }
}
