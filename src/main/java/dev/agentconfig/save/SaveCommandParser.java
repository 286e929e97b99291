package dev.agentconfig.save;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.core.Changes;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.InvalidSave;
import dev.agentconfig.core.Origin;
import dev.agentconfig.core.SaveCommand;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.json.Json;

/**
 * Turns the bytes a front door received into a {@link SaveCommand}: strict JSON (one object, no
 * duplicate keys, no trailing data), only the known fields, each a string or null, each valid by its
 * rule. Error messages name fields and rules, never the submitted values. Whose save it is comes
 * from the caller of this class (the HTTP door: the path checked against the credential), or from
 * the message itself for a door whose sender is trusted with any user (the inbox, Kafka).
 */
public final class SaveCommandParser {
    private static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[A-Za-z0-9_.:-]{1,128}");
    public static final String EDITED_AT = "editedAt";

    /**
     * The HTTP door: the body holds the fields and, optionally, {@code editedAt} (a tenantId or userId
     * in it is an unknown field).
     */
    public SaveCommand http(UserKey user, byte[] body, String idempotencyKey) {
        JsonNode root = readObject(body);
        return new SaveCommand(user, changes(root, Set.of(EDITED_AT)), editedAt(root), idempotencyKey(idempotencyKey),
                Origin.HTTP);
    }

    /** A message door (inbox, Kafka): tenantId and userId travel inside the JSON object. */
    public SaveCommand message(byte[] body, Origin origin) {
        JsonNode root = readObject(body);
        JsonNode t = root.get("tenantId");
        JsonNode u = root.get("userId");
        if (t == null || !t.isTextual() || u == null || !u.isTextual()) {
            throw new InvalidSave("a save message needs string fields tenantId and userId");
        }
        UserKey user = UserKey.of(t.textValue(), u.textValue());
        return new SaveCommand(user, changes(root, Set.of("tenantId", "userId", EDITED_AT)), editedAt(root),
                Optional.empty(), origin);
    }

    /**
     * {@code editedAt}: the moment of the edit (RFC 3339 with an offset, e.g. 2026-12-01T10:15:30.123Z),
     * when the sender knows it: an offline browser, a message. The field versions come from it.
     */
    static Optional<java.time.Instant> editedAt(JsonNode root) {
        JsonNode e = root.get(EDITED_AT);
        if (e == null || e.isNull()) {
            return Optional.empty();
        }
        if (!e.isTextual()) {
            throw new InvalidSave("editedAt must be an RFC 3339 date-time string such as 2026-12-01T10:15:30.123Z",
                    List.of(new InvalidSave.FieldError(EDITED_AT, "must be an RFC 3339 date-time string")));
        }
        try {
            return Optional.of(java.time.OffsetDateTime.parse(e.textValue()).toInstant());
        } catch (java.time.format.DateTimeParseException ex) {
            throw new InvalidSave("editedAt must be an RFC 3339 date-time with an offset, such as "
                    + "2026-12-01T10:15:30.123Z", List.of(new InvalidSave.FieldError(EDITED_AT,
                    "must be an RFC 3339 date-time with an offset")));
        }
    }

    private static JsonNode readObject(byte[] body) {
        if (body == null || body.length == 0) {
            throw new InvalidSave("the request body is empty; send a JSON object such as {\"callAgentId\":\"agent_123\"}");
        }
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(utf8(body));
        } catch (JsonProcessingException e) {
            throw new InvalidSave("the request body is not valid JSON: " + describe(e));
        } catch (IOException e) {
            throw new InvalidSave("the request body could not be read");
        }
        if (root == null || !root.isObject()) {
            throw new InvalidSave("the request body must be a JSON object");
        }
        return root;
    }

    /**
     * The body as text: UTF-8 only (RFC 8259), whatever a parser could guess. A UTF-16 or UTF-32 body
     * (with a byte order mark or without one) or bytes that are not UTF-8 are refused, never decoded
     * some other way. A leading UTF-8 byte order mark is ignored.
     */
    static String utf8(byte[] body) {
        if (body.length >= 2 && ((body[0] == (byte) 0xFE && body[1] == (byte) 0xFF) || (body[0] == (byte) 0xFF && body[1] == (byte) 0xFE))) {
            throw new InvalidSave("the request body must be UTF-8; it starts with a UTF-16 byte order mark");
        }
        int start = body.length >= 3 && body[0] == (byte) 0xEF && body[1] == (byte) 0xBB && body[2] == (byte) 0xBF ? 3 : 0;
        for (int i = start; i < Math.min(body.length, start + 4); i++) {
            if (body[i] == 0) {
                throw new InvalidSave("the request body must be UTF-8; it looks like UTF-16 or UTF-32 (NUL bytes)");
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body, start, body.length - start))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new InvalidSave("the request body is not valid UTF-8");
        }
    }

    private static Changes changes(JsonNode root, Set<String> allowedExtra) {
        Set<String> unknown = new TreeSet<>();
        List<InvalidSave.FieldError> errors = new ArrayList<>();
        Map<Field, String> values = new EnumMap<>(Field.class);
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (allowedExtra.contains(e.getKey())) {
                continue;
            }
            Optional<Field> field = Field.byJson(e.getKey());
            if (field.isEmpty()) {
                unknown.add(sanitize(e.getKey()));
                continue;
            }
            JsonNode v = e.getValue();
            if (v.isNull()) {
                values.put(field.get(), null);
            } else if (!v.isTextual()) {
                errors.add(new InvalidSave.FieldError(field.get().json(), "must be a string or null"));
            } else if (!field.get().valid(v.textValue())) {
                errors.add(new InvalidSave.FieldError(field.get().json(), field.get().ruleText()));
            } else {
                values.put(field.get(), v.textValue());
            }
        }
        if (!unknown.isEmpty()) {
            throw new InvalidSave("unknown field(s) " + unknown
                    + "; the accepted fields are retellApiKey, callAgentId and smsAgentId (and editedAt)");
        }
        if (!errors.isEmpty()) {
            StringBuilder detail = new StringBuilder();
            for (InvalidSave.FieldError err : errors) {
                if (detail.length() > 0) {
                    detail.append("; ");
                }
                detail.append(err.field()).append(' ').append(err.message());
            }
            throw new InvalidSave(detail.toString(), errors);
        }
        if (values.isEmpty()) {
            throw new InvalidSave("the save carries no field; send at least one of retellApiKey, callAgentId, "
                    + "smsAgentId (null clears a field)");
        }
        return Changes.of(values);
    }

    private static Optional<String> idempotencyKey(String key) {
        if (key == null || key.isBlank()) {
            return Optional.empty();
        }
        if (!IDEMPOTENCY_KEY.matcher(key).matches()) {
            throw new InvalidSave("Idempotency-Key must be 1 to 128 characters of A-Z, a-z, 0-9, '_', '.', ':' or '-'");
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
        return sanitize(kind) + (loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr());
    }

    /** Echo at most a short, printable-ASCII version of caller input. */
    public static String sanitize(String input) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < input.length() && sb.length() < 80; i++) {
            char c = input.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return sb.toString();
    }
}
