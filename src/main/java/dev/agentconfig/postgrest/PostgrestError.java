package dev.agentconfig.postgrest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.json.Json;

/**
 * PostgREST's error body: {@code {"code", "details", "hint", "message"}}. Anything else (a
 * gateway's HTML page, an empty body) parses to all nulls and is classified by its status.
 */
public record PostgrestError(String code, String message, String details, String hint) {

    public static PostgrestError parse(String body) {
        if (body != null && !body.isBlank()) {
            try {
                JsonNode n = Json.tree(body);
                if (n.isObject()) {
                    return new PostgrestError(text(n, "code"), text(n, "message"), text(n, "details"), text(n, "hint"));
                }
            } catch (RuntimeException notJson) {
                // not PostgREST's answer
            }
        }
        return new PostgrestError(null, null, null, null);
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
