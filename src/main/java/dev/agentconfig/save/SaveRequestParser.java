package dev.agentconfig.save;

import dev.agentconfig.core.Field;
import dev.agentconfig.core.Changes;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.api.Problem;
import dev.agentconfig.json.Json;

/**
 * Turns a request body into a {@link SaveRequest}: strict JSON (one object, no duplicate keys,
 * no trailing data), only the known fields, each a string or null, each valid by its rule.
 * Error messages name fields and rules, never the submitted values.
 */
public final class SaveRequestParser {

    public SaveRequest parse(String tenantId, String userId, byte[] body, String idempotencyKey) {
        String tenant = Identifiers.tenant(tenantId);
        var user = Identifiers.user(userId);
        JsonNode root = readObject(body);
        Changes changes = changes(root, Set.of());
        return new SaveRequest(tenant, user, changes, idempotencyKey(idempotencyKey));
    }

    /** For inbox messages: tenantId and userId travel inside the JSON object. */
    public SaveRequest parseMessage(byte[] body) {
        JsonNode root = readObject(body);
        JsonNode t = root.get("tenantId");
        JsonNode u = root.get("userId");
        if (t == null || !t.isTextual() || u == null || !u.isTextual()) {
            throw Problem.badRequest("an inbox message needs string fields tenantId and userId");
        }
        String tenant = Identifiers.tenant(t.textValue());
        var user = Identifiers.user(u.textValue());
        Changes changes = changes(root, Set.of("tenantId", "userId"));
        return new SaveRequest(tenant, user, changes, Optional.empty());
    }

    private static JsonNode readObject(byte[] body) {
        if (body == null || body.length == 0) {
            throw Problem.badRequest("the request body is empty; send a JSON object such as {\"callAgentId\":\"agent_123\"}");
        }
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw Problem.badRequest("the request body is not valid JSON: " + describe(e));
        } catch (IOException e) {
            throw Problem.badRequest("the request body could not be read");
        }
        if (root == null || !root.isObject()) {
            throw Problem.badRequest("the request body must be a JSON object");
        }
        return root;
    }

    private static Changes changes(JsonNode root, Set<String> allowedExtra) {
        Set<String> unknown = new TreeSet<>();
        List<Map<String, String>> errors = new ArrayList<>();
        EnumMap<Field, String> values = new EnumMap<>(Field.class);
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (allowedExtra.contains(e.getKey())) {
                continue;
            }
            Optional<Field> field = Field.byJson(e.getKey());
            if (field.isEmpty()) {
                unknown.add(Problem.sanitize(e.getKey()));
                continue;
            }
            JsonNode v = e.getValue();
            if (v.isNull()) {
                values.put(field.get(), null);
            } else if (!v.isTextual()) {
                errors.add(Map.of("field", field.get().json(), "message", "must be a string or null"));
            } else if (!field.get().valid(v.textValue())) {
                errors.add(Map.of("field", field.get().json(), "message", field.get().ruleText()));
            } else {
                values.put(field.get(), v.textValue());
            }
        }
        if (!unknown.isEmpty()) {
            throw Problem.badRequest("unknown field(s) " + unknown
                    + "; the accepted fields are retellApiKey, callAgentId and smsAgentId", null);
        }
        if (!errors.isEmpty()) {
            StringBuilder detail = new StringBuilder();
            for (Map<String, String> err : errors) {
                if (detail.length() > 0) {
                    detail.append("; ");
                }
                detail.append(err.get("field")).append(' ').append(err.get("message"));
            }
            throw Problem.badRequest(detail.toString(), errors);
        }
        if (values.isEmpty()) {
            throw Problem.badRequest("the save carries no field; send at least one of retellApiKey, callAgentId, "
                    + "smsAgentId (null clears a field)");
        }
        return Changes.of(values);
    }

    private static Optional<String> idempotencyKey(String key) {
        if (key == null || key.isBlank()) {
            return Optional.empty();
        }
        if (!key.matches("[A-Za-z0-9_.:-]{1,128}")) {
            throw Problem.badRequest("Idempotency-Key must be 1 to 128 characters of A-Z, a-z, 0-9, '_', '.', ':' or '-'");
        }
        return Optional.of(key);
    }

    private static String describe(JsonProcessingException e) {
        String msg = e.getOriginalMessage();
        if (msg == null) {
            return "malformed";
        }
        // Jackson quotes the offending token; keep only the kind of error and its location.
        int quote = msg.indexOf('\'');
        String kind = quote > 0 ? msg.substring(0, quote).strip() : msg;
        if (kind.length() > 120) {
            kind = kind.substring(0, 120);
        }
        var loc = e.getLocation();
        return Problem.sanitize(kind) + (loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr());
    }
}
