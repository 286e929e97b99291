package dev.agentconfig.postgrest;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentconfig.json.Json;
import org.apache.camel.Exchange;

/**
 * What the rest transport's leaf routes send and how they hand the answer back: the same named
 * parameters the jdbc statements take (SaveSteps.profileParams, ReadSteps.queryParams, …) become
 * PostgREST requests, and PostgREST's JSON becomes the shape the jdbc statements return, so every
 * step around the leaf routes is the same for both transports.
 */
public final class PostgrestPayloads {
    static final String PROFILE_COLUMNS = "encrypted_retell_api_key,encrypted_agent_config,field_versions,updated_at";
    static final String SETTINGS_COLUMNS = "retell_config,encrypted_api_keys,field_versions,api_key_updated_at,updated_at";

    // ----- save ----------------------------------------------------------------------------------

    /**
     * The upsert: {@code POST /user_profiles?on_conflict=user_id} with
     * {@code Prefer: resolution=merge-duplicates,return=representation} (the row comes back, with the
     * field_versions the per-field trigger kept, for the stale check). The conflict target is what
     * the seed lacked (its upsert without on_conflict hit 409 / 23505 for every returning user).
     */
    public PostgrestRequest upsertProfile(Map<String, Object> params) {
        ObjectNode row = Json.MAPPER.createObjectNode();
        row.put("user_id", (String) params.get("userId"));
        row.put("tenant_id", (String) params.get("tenantId"));
        row.put("encrypted_retell_api_key", (String) params.get("encryptedApiKey"));
        row.set("encrypted_agent_config", Json.tree((String) params.get("agentConfig")));
        row.set("field_versions", Json.tree((String) params.get("fieldVersions")));
        return PostgrestRequest.post("/user_profiles", "on_conflict=user_id",
                "resolution=merge-duplicates,return=representation", row.toString(), true);
    }

    /** The upserted row (an array of one), as the jdbc statement returns it: the row, for its field_versions. */
    public String profileUpserted(Exchange exchange) {
        String body = exchange.getMessage().getBody(String.class);
        if (body == null) {
            return null;
        }
        JsonNode rows = Json.tree(body);
        JsonNode row = rows.isArray() ? (rows.isEmpty() ? null : rows.get(0)) : rows;
        return row == null || !row.has("field_versions") ? null
                : Json.MAPPER.createObjectNode().set("field_versions", row.get("field_versions")).toString();
    }

    /**
     * The settings RPC: {@code POST /rpc/update_user_api_keys} with its named arguments as one JSON
     * object (not {@code Prefer: params=single-object}, gone in v13). It answers
     * {@code {"success":true,"field_versions":{…}}}, the document the jdbc statement returns too.
     */
    public PostgrestRequest callSettingsRpc(Map<String, Object> params) {
        ObjectNode args = Json.MAPPER.createObjectNode();
        args.put("p_user_id", (String) params.get("userId"));
        args.put("p_tenant_id", (String) params.get("tenantId"));
        args.set("p_retell_config", Json.tree((String) params.get("retellConfig")));
        args.set("p_encrypted_api_keys", Json.tree((String) params.get("encryptedApiKeys")));
        args.set("p_field_versions", Json.tree((String) params.get("fieldVersions")));
        return PostgrestRequest.post("/rpc/update_user_api_keys", null, null, args.toString(), true);
    }

    // ----- read ----------------------------------------------------------------------------------

    /** {@code GET /user_profiles?user_id=eq.<uuid>&tenant_id=eq.<tenant>&select=…}: the user AND the tenant. */
    public PostgrestRequest queryProfile(Map<String, Object> params) {
        return PostgrestRequest.get("/user_profiles", userAndTenant(params) + "&select=" + PROFILE_COLUMNS, true);
    }

    public PostgrestRequest querySettings(Map<String, Object> params) {
        return PostgrestRequest.get("/user_settings", userAndTenant(params) + "&select=" + SETTINGS_COLUMNS, true);
    }

    /** PostgREST's rows as read-profile.sql returns them (jsonb as text, timestamps as OffsetDateTime). */
    public List<Map<String, Object>> profileRows(Exchange exchange) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (JsonNode r : rows(exchange)) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("encrypted_retell_api_key", text(r.get("encrypted_retell_api_key")));
            row.put("agent_config", jsonText(r.get("encrypted_agent_config")));
            row.put("field_versions", jsonText(r.get("field_versions")));
            row.put("updated_at", timestamp(r.get("updated_at")));
            out.add(row);
        }
        return out;
    }

    /** PostgREST's rows as read-settings.sql returns them. */
    public List<Map<String, Object>> settingsRows(Exchange exchange) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (JsonNode r : rows(exchange)) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("retell_config", jsonText(r.get("retell_config")));
            row.put("encrypted_api_keys", jsonText(r.get("encrypted_api_keys")));
            row.put("field_versions", jsonText(r.get("field_versions")));
            row.put("api_key_updated_at", timestamp(r.get("api_key_updated_at")));
            row.put("updated_at", timestamp(r.get("updated_at")));
            out.add(row);
        }
        return out;
    }

    // ----- helpers ---------------------------------------------------------------------------------

    private static String userAndTenant(Map<String, Object> params) {
        return PostgrestRequest.eq("user_id", (String) params.get("userId")) + "&"
                + PostgrestRequest.eq("tenant_id", (String) params.get("tenantId"));
    }

    private static List<JsonNode> rows(Exchange exchange) {
        String body = exchange.getMessage().getBody(String.class);
        List<JsonNode> out = new ArrayList<>();
        if (body == null) {
            return out;
        }
        JsonNode rows = Json.tree(body);
        if (!rows.isArray()) {
            throw new IllegalStateException("PostgREST answered a read with something other than an array");
        }
        rows.forEach(out::add);
        return out;
    }

    private static String text(JsonNode n) {
        return n == null || n.isNull() ? null : n.asText();
    }

    private static String jsonText(JsonNode n) {
        return n == null || n.isNull() ? null : n.toString();
    }

    private static OffsetDateTime timestamp(JsonNode n) {
        return n == null || n.isNull() ? null : OffsetDateTime.parse(n.asText());
    }
}
