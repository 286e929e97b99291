package dev.agentconfig.postgrest;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.TargetOutcome;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.json.Json;
import dev.agentconfig.transport.StoredRow;
import dev.agentconfig.transport.TargetRows;

/**
 * What the rest transport's leaf routes send and how they hand the answer back: a sealed save (or a
 * user's key) becomes a PostgREST request, and PostgREST's JSON becomes the same typed answer the jdbc
 * leaves give (a target's outcome, a stored row), so every step around the leaf routes is the same for
 * both transports.
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
    public PostgrestRequest upsertProfile(SealedSave save) {
        TargetRows.ProfileRow p = TargetRows.profile(save);
        ObjectNode row = Json.MAPPER.createObjectNode();
        row.put("user_id", p.userId());
        row.put("tenant_id", p.tenantId());
        row.put("encrypted_retell_api_key", p.encryptedApiKey());
        row.set("encrypted_agent_config", Json.tree(p.agentConfig()));
        row.set("field_versions", Json.tree(p.fieldVersions()));
        return PostgrestRequest.post("/user_profiles", "on_conflict=user_id",
                "resolution=merge-duplicates,return=representation", row.toString(), true).about(save);
    }

    /** The upserted row (an array of one): its field_versions say saved or stale. */
    public TargetOutcome profileUpserted(PostgrestAnswer answer) {
        SealedSave save = (SealedSave) answer.request().about();
        String body = answer.body();
        String versions = null;
        if (body != null) {
            JsonNode rows = Json.tree(body);
            JsonNode row = rows.isArray() ? (rows.isEmpty() ? null : rows.get(0)) : rows;
            versions = row == null || !row.has("field_versions") ? null : row.get("field_versions").toString();
        }
        return TargetRows.profileWritten(save, versions);
    }

    /**
     * The settings RPC: {@code POST /rpc/update_user_api_keys} with its named arguments as one JSON
     * object (not {@code Prefer: params=single-object}, gone in v13). It answers
     * {@code {"success":true,"field_versions":{…}}}, the document the jdbc statement returns too.
     */
    public PostgrestRequest callSettingsRpc(SealedSave save) {
        TargetRows.SettingsArgs a = TargetRows.settings(save);
        ObjectNode args = Json.MAPPER.createObjectNode();
        args.put("p_user_id", a.userId());
        args.put("p_tenant_id", a.tenantId());
        args.set("p_retell_config", Json.tree(a.retellConfig()));
        args.set("p_encrypted_api_keys", Json.tree(a.encryptedApiKeys()));
        args.set("p_field_versions", Json.tree(a.fieldVersions()));
        return PostgrestRequest.post("/rpc/update_user_api_keys", null, null, args.toString(), true).about(save);
    }

    public TargetOutcome settingsCalled(PostgrestAnswer answer) {
        return TargetRows.settingsWritten((SealedSave) answer.request().about(), answer.body());
    }

    // ----- read ----------------------------------------------------------------------------------

    /** {@code GET /user_profiles?user_id=eq.<uuid>&tenant_id=eq.<tenant>&select=…}: the user AND the tenant. */
    public PostgrestRequest queryProfile(UserKey key) {
        return PostgrestRequest.get("/user_profiles", userAndTenant(key) + "&select=" + PROFILE_COLUMNS, true).about(key);
    }

    public PostgrestRequest querySettings(UserKey key) {
        return PostgrestRequest.get("/user_settings", userAndTenant(key) + "&select=" + SETTINGS_COLUMNS, true).about(key);
    }

    /** PostgREST's rows as the jdbc read gives them (jsonb as text). */
    public StoredRow<TargetRows.ProfileRecord> profileRows(PostgrestAnswer answer) {
        UserKey key = (UserKey) answer.request().about();
        return new StoredRow<>(key, rows(answer).stream().findFirst().map(r -> new TargetRows.ProfileRecord(
                text(r.get("encrypted_retell_api_key")), jsonText(r.get("encrypted_agent_config")),
                jsonText(r.get("field_versions")), timestamp(r.get("updated_at")))));
    }

    public StoredRow<TargetRows.SettingsRecord> settingsRows(PostgrestAnswer answer) {
        UserKey key = (UserKey) answer.request().about();
        return new StoredRow<>(key, rows(answer).stream().findFirst().map(r -> new TargetRows.SettingsRecord(
                jsonText(r.get("retell_config")), jsonText(r.get("encrypted_api_keys")),
                jsonText(r.get("field_versions")), timestamp(r.get("api_key_updated_at")),
                timestamp(r.get("updated_at")))));
    }

    // ----- helpers ---------------------------------------------------------------------------------

    private static String userAndTenant(UserKey key) {
        return PostgrestRequest.eq("user_id", key.userId().toString()) + "&"
                + PostgrestRequest.eq("tenant_id", key.tenantId());
    }

    private static List<JsonNode> rows(PostgrestAnswer answer) {
        List<JsonNode> out = new ArrayList<>();
        if (answer.body() == null) {
            return out;
        }
        JsonNode rows = Json.tree(answer.body());
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

    private static Instant timestamp(JsonNode n) {
        return n == null || n.isNull() ? null : OffsetDateTime.parse(n.asText()).toInstant();
    }
}
