package dev.agentconfig.api;

import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.core.SaveCommand;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.json.Json;
import dev.agentconfig.save.SaveCommandParser;
import dev.agentconfig.sync.Requeue;
import org.apache.camel.Exchange;

/**
 * The HTTP side of the operator's actions on a local entry (Exchange: the HTTP adapter). POST …/retry (and
 * /api/v1/quarantine/…/resubmit): 202 re-queued; POST …/abandon: 200 abandoned; POST /api/v1/quarantine/…/edit:
 * 200 edited; each 404 no entry, 409 not quarantined.
 */
public final class HttpRequeue {
    private final SaveCommandParser parser = new SaveCommandParser();
    /** The longest reason (and operator name) an abandonment may carry. */
    static final int MAX_REASON = 500;
    static final int MAX_OPERATOR = 100;

    /**
     * The body of POST …/abandon, {"reason": "...", "operator": "..."} (reason required, operator optional,
     * nothing else), with the path's user and who asked, as a request to give the entry up.
     */
    public Requeue.Abandonment abandonment(Exchange exchange) {
        UserKey key = PathIdentity.of(exchange).user();
        byte[] body = exchange.getMessage().getBody(byte[].class);
        JsonNode json;
        try {
            json = body == null || body.length == 0 ? null : Json.MAPPER.readTree(body);
        } catch (IOException e) {
            throw Problem.badRequest("the body is not JSON");
        }
        if (json == null || !json.isObject()) {
            throw Problem.badRequest("the body must be a JSON object with a reason: {\"reason\": \"why\"}");
        }
        for (Iterator<String> names = json.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!"reason".equals(name) && !"operator".equals(name)) {
                throw Problem.badRequest("unknown field " + Problem.sanitize(name) + " (reason, operator)",
                        List.of(Map.of("field", Problem.sanitize(name), "message", "unknown field")));
            }
        }
        String reason = text(json, "reason", MAX_REASON, true);
        String operator = text(json, "operator", MAX_OPERATOR, false);
        return new Requeue.Abandonment(key, "service-token", operator, reason,
                exchange.getProperty(HttpGuard.REQUEST_ID, String.class));
    }

    /**
     * The body of POST /api/v1/quarantine/{tenantId}/{userId}/edit, {"set": {<fields as a save carries them>},
     * "reason": "...", "operator": "..."} (set and reason required), as an edit of the path's user's entry. The
     * fields follow a save's rules (save/SaveCommandParser: a key is sealed, never kept as sent).
     */
    public Requeue.Edit edit(Exchange exchange) {
        UserKey key = PathIdentity.of(exchange).user();
        JsonNode json = object(exchange.getMessage().getBody(byte[].class),
                "{\"set\": {\"callAgentId\": \"...\"}, \"reason\": \"why\"}");
        for (Iterator<String> names = json.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!"set".equals(name) && !"reason".equals(name) && !"operator".equals(name)) {
                throw Problem.badRequest("unknown field " + Problem.sanitize(name) + " (set, reason, operator)",
                        List.of(Map.of("field", Problem.sanitize(name), "message", "unknown field")));
            }
        }
        JsonNode set = json.get("set");
        if (set == null || !set.isObject() || set.isEmpty()) {
            throw Problem.badRequest("set must be an object with the fields to replace, as a save carries them",
                    List.of(Map.of("field", "set", "message", "is required")));
        }
        String reason = text(json, "reason", MAX_REASON, true);
        String operator = text(json, "operator", MAX_OPERATOR, false);
        SaveCommand command = parser.http(key, Json.writeBytes(set), null);
        if (command.editedAt().isPresent()) {
            throw Problem.badRequest("an edit is versioned now: editedAt is not accepted in set",
                    List.of(Map.of("field", "editedAt", "message", "is not accepted")));
        }
        return new Requeue.Edit(key, command, "service-token", operator, reason,
                exchange.getProperty(HttpGuard.REQUEST_ID, String.class));
    }

    private static JsonNode object(byte[] body, String example) {
        JsonNode json;
        try {
            json = body == null || body.length == 0 ? null : Json.MAPPER.readTree(body);
        } catch (IOException e) {
            throw Problem.badRequest("the body is not JSON");
        }
        if (json == null || !json.isObject()) {
            throw Problem.badRequest("the body must be a JSON object: " + example);
        }
        return json;
    }

    private static String text(JsonNode json, String field, int max, boolean required) {
        JsonNode v = json.get(field);
        if (v == null || v.isNull()) {
            if (required) {
                throw Problem.badRequest(field + " is required: say why the entry is given up",
                        List.of(Map.of("field", field, "message", "is required")));
            }
            return null;
        }
        String t = v.isTextual() ? v.textValue().strip() : null;
        if (t == null || t.isEmpty() || t.length() > max || t.codePoints().anyMatch(Character::isISOControl)) {
            throw Problem.badRequest(field + " must be text of 1 to " + max + " characters without control characters",
                    List.of(Map.of("field", field, "message", "is not valid")));
        }
        return t;
    }

    public Map<String, Object> answer(Exchange exchange) {
        Requeue.Answer answer = exchange.getMessage().getBody(Requeue.Answer.class);
        if (answer instanceof Requeue.Answer.NoEntry n) {
            throw Problem.notFound("the local store holds no entry for " + n.key() + "; nothing to do");
        }
        if (answer instanceof Requeue.Answer.NotQuarantined nq) {
            PendingEntry entry = nq.entry();
            throw new Problem(409, "not-quarantined", "The entry is not quarantined",
                    "the local entry for " + entry.tenantId() + "/" + entry.userId() + " is " + entry.state()
                            + "; it is retried by the sync on its own (next attempt " + entry.nextAttemptAt() + ")",
                    Map.of("state", entry.state()));
        }
        if (answer instanceof Requeue.Answer.Edited e) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("status", "edited");
            body.put("tenantId", e.entry().tenantId());
            body.put("userId", e.entry().userId());
            body.put("saveId", e.edit().saveId().toString());
            body.put("version", e.edit().version());
            body.put("fields", e.edit().fields().keySet().stream().map(Field::json).toList());
            body.put("state", e.entry().state());
            body.put("pendingTargets", e.entry().pendingTargets());
            exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
            return body;
        }
        if (answer instanceof Requeue.Answer.Abandoned a) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("status", "abandoned");
            body.put("tenantId", a.entry().tenantId());
            body.put("userId", a.entry().userId());
            body.put("pendingTargets", a.entry().pendingTargets());
            body.put("lastError", a.entry().lastError());
            body.put("abandonedAt", a.at().toString());
            body.put("keptAs", a.keptAs()); // under the data directory (never an absolute path)
            exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
            return body;
        }
        PendingEntry entry = ((Requeue.Answer.Requeued) answer).entry();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", "requeued");
        body.put("tenantId", entry.tenantId());
        body.put("userId", entry.userId());
        body.put("state", entry.state());
        body.put("pendingTargets", entry.pendingTargets());
        body.put("attempts", entry.attempts());
        body.put("nextAttemptAt", entry.nextAttemptAt());
        body.put("lastError", entry.lastError());
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 202);
        return body;
    }
}
