package dev.agentconfig.transport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.EnumMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
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
        return new ProfileRow(save.userId().toString(), save.tenantId(), save.value(Field.RETELL_API_KEY),
                agentIds(save), versions(save));
    }

    public static SettingsArgs settings(SealedSave save) {
        String keys = Json.object(g -> put(g, save, Field.RETELL_API_KEY, "retell_api_key"));
        return new SettingsArgs(save.userId().toString(), save.tenantId(), agentIds(save), keys, versions(save));
    }

    /** user_profiles answered with the row's field_versions (text, or null when no row came back). */
    public static TargetOutcome profileWritten(SealedSave save, String fieldVersions) {
        return TargetOutcome.written(Target.USER_PROFILES, save, versionsOf(fieldVersions));
    }

    /** update_user_api_keys answered {"success":…, "field_versions":{…}, "legacy_api_key"?:"…"}. */
    public static TargetOutcome settingsWritten(SealedSave save, String answer) {
        if (answer == null) {
            return TargetOutcome.written(Target.USER_SETTINGS, save, new EnumMap<>(Field.class), null);
        }
        // read as it streams, without a tree: the answer is a flat object and one object of versions
        Map<Field, Long> stored = new EnumMap<>(Field.class);
        String legacy = null;
        boolean hasVersions = false;
        try (JsonParser p = Json.MAPPER.getFactory().createParser(answer)) {
            if (p.nextToken() == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    JsonToken value = p.nextToken();
                    if ("field_versions".equals(name)) {
                        hasVersions = true;
                        versionsOf(p, stored);
                    } else if ("legacy_api_key".equals(name) && value == JsonToken.VALUE_STRING) {
                        legacy = p.getText();
                    } else {
                        p.skipChildren();
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return TargetOutcome.written(Target.USER_SETTINGS, save, stored, hasVersions ? legacy : null);
    }

    /**
     * A field_versions document (text; null when there is none) as versions per field: entries that are not
     * integers are ignored.
     */
    public static Map<Field, Long> versionsOf(String stored) {
        Map<Field, Long> m = new EnumMap<>(Field.class);
        if (stored == null) {
            return m;
        }
        try (JsonParser p = Json.MAPPER.getFactory().createParser(stored)) {
            p.nextToken();
            versionsOf(p, m);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return m;
    }

    /** The versions of the object at the parser's current token (anything else is skipped); ends on its end. */
    private static void versionsOf(JsonParser p, Map<Field, Long> into) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            Field field = Field.byJson(p.currentName()).orElse(null);
            if (p.nextToken() == JsonToken.VALUE_NUMBER_INT && field != null
                    && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
                into.put(field, p.getLongValue());
            } else {
                p.skipChildren();
            }
        }
    }

    /** {call_agent_id, sms_agent_id}: the agent ids the save carries. */
    private static String agentIds(SealedSave save) {
        return Json.object(g -> {
            put(g, save, Field.CALL_AGENT_ID, "call_agent_id");
            put(g, save, Field.SMS_AGENT_ID, "sms_agent_id");
        });
    }

    private static void put(JsonGenerator g, SealedSave save, Field field, String column) throws IOException {
        if (save.has(field)) {
            g.writeStringField(column, save.value(field)); // a cleared field: null
        }
    }

    private static String versions(SealedSave save) {
        return Json.object(g -> {
            for (Map.Entry<Field, Long> e : save.versions().entrySet()) {
                g.writeNumberField(e.getKey().json(), e.getValue());
            }
        });
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
