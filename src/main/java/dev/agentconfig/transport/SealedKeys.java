package dev.agentconfig.transport;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentconfig.core.Target;
import dev.agentconfig.json.Json;

/**
 * The sealed API keys in both tables, as key rotation sees them, through the functions of migration V5
 * (the same functions for both transports: a select over JDBC, {@code POST /rest/v1/rpc/…} over
 * PostgREST):
 * <ul>
 *   <li>{@code public.retell_key_usage()}: values per key id in each table, legacy plaintext keys, and key
 *       values that are no envelope of this service;</li>
 *   <li>{@code public.retell_keys_to_reseal(p_active_key_id, p_after, p_limit)}: the rows of the next users
 *       (by user id, after {@code p_after}) whose key is sealed with another key, or who still have the seed's
 *       plaintext key;</li>
 *   <li>{@code public.reseal_retell_keys(p_items)}: each item replaces exactly the old envelope by the new one
 *       at the same version (compare-and-set: a save made meanwhile is never overwritten), or seals a legacy
 *       plaintext key whose SHA-256 still matches.</li>
 * </ul>
 * Failures are thrown as they are (a SQLException, a {@link ClassifiedFailureException}).
 */
public interface SealedKeys {

    KeyCounts count() throws Exception;

    List<SealedKeyRow> toReseal(String activeKeyId, UUID after, int limit) throws Exception;

    List<ResealResult> reseal(List<Reseal> items) throws Exception;

    /** Values per key id in each table; legacy plaintext keys; key values that are no envelope of ours. */
    record KeyCounts(Map<String, Long> profiles, Map<String, Long> settings, long legacyPlaintext, long foreign) {
        public static KeyCounts of(JsonNode doc) {
            return new KeyCounts(counts(doc.get("user_profiles")), counts(doc.get("user_settings")),
                    doc.path("legacy_plaintext").asLong(0), doc.path("foreign").asLong(0));
        }

        private static Map<String, Long> counts(JsonNode node) {
            Map<String, Long> m = new TreeMap<>();
            if (node != null && node.isObject()) {
                node.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asLong()));
            }
            return m;
        }
    }

    /**
     * One table's row of a user with something to re-seal: its key value (an envelope, or null) and, in
     * user_settings, the seed's plaintext key if there is one. Never printed with its values.
     */
    record SealedKeyRow(Target table, UUID userId, String tenantId, String value, String legacyPlaintext) {
        public static List<SealedKeyRow> of(JsonNode rows) {
            List<SealedKeyRow> out = new ArrayList<>();
            if (rows != null && rows.isArray()) {
                for (JsonNode r : rows) {
                    out.add(new SealedKeyRow(Target.byTable(r.get("table_name").asText()),
                            UUID.fromString(r.get("user_id").asText()), r.get("tenant_id").asText(),
                            text(r.get("key_value")), text(r.get("legacy_key"))));
                }
            }
            return out;
        }

        @Override
        public String toString() {
            return "SealedKeyRow[" + table.table() + " " + tenantId + "/" + userId + "]";
        }
    }

    /**
     * What to replace for a user: {@code oldEnvelope} by {@code newEnvelope} wherever a table holds exactly
     * it; or, for a legacy row, the plaintext whose SHA-256 (hex) is {@code legacySha256} by
     * {@code newEnvelope}. Never printed with its values.
     */
    record Reseal(UUID userId, String tenantId, String oldEnvelope, String legacySha256, String newEnvelope) {
        public boolean legacy() {
            return legacySha256 != null;
        }

        @Override
        public String toString() {
            return "Reseal[" + tenantId + "/" + userId + (legacy() ? " legacy" : "") + "]";
        }

        public static String json(List<Reseal> items) {
            ArrayNode array = Json.MAPPER.createArrayNode();
            for (Reseal r : items) {
                ObjectNode o = array.addObject();
                o.put("user_id", r.userId().toString());
                o.put("tenant_id", r.tenantId());
                if (r.legacy()) {
                    o.put("legacy_sha256", r.legacySha256());
                } else {
                    o.put("old", r.oldEnvelope());
                }
                o.put("new", r.newEnvelope());
            }
            return array.toString();
        }
    }

    /**
     * What an item did: values replaced in each table; {@code result} "resealed", "changed" (the value is
     * no longer the one read: a save came first, nothing written) or "refused" (with the SQLSTATE).
     */
    record ResealResult(int profiles, int settings, String result, String code) {
        public static final String RESEALED = "resealed";
        public static final String CHANGED = "changed";
        public static final String REFUSED = "refused";

        public int values() {
            return profiles + settings;
        }

        public static List<ResealResult> of(JsonNode array) {
            List<ResealResult> out = new ArrayList<>();
            if (array != null && array.isArray()) {
                for (JsonNode r : array) {
                    out.add(new ResealResult(r.path("user_profiles").asInt(0), r.path("user_settings").asInt(0),
                            r.path("result").asText(REFUSED), text(r.get("code"))));
                }
            }
            return out;
        }
    }

    private static String text(JsonNode n) {
        return n == null || n.isNull() ? null : n.asText();
    }
}
