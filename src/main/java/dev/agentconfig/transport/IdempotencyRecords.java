package dev.agentconfig.transport;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Optional;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.core.IdempotencyRecord;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.json.Json;

/**
 * The Idempotency-Keys the database remembers per user (table {@code public.save_idempotency_keys}, migration
 * V6), through the migration's two functions for both transports (a select over JDBC, {@code POST
 * /rest/v1/rpc/<name>} over PostgREST):
 * <ul>
 *   <li>{@code public.save_idempotency_find(...)}: a key's record, unless it was first used before
 *       {@code notBefore};</li>
 *   <li>{@code public.save_idempotency_record(...)}: records a key (its first save keeps it; the same save at a
 *       newer version moves its version), drops the user's expired keys and those beyond {@code perUser}
 *       (oldest first), and answers the record the key now stands for.</li>
 * </ul>
 * On the jdbc transport a save's key is recorded in the save's own transaction (db/JdbcTargetWrites, its group commit).
 * Failures are thrown as they are (a SQLException, a {@link ClassifiedFailureException}).
 */
public interface IdempotencyRecords {

    Optional<IdempotencyRecord> find(UserKey user, String key, Instant notBefore) throws Exception;

    /** @return the record the key stands for now: this one, or the one of the save that used it first */
    IdempotencyRecord record(UserKey user, IdempotencyRecord record, Instant notBefore, int perUser) throws Exception;

    /** The functions' answer: {"idempotency_key", "fingerprint", "save_id", "version", "created_at"}, or null. */
    static Optional<IdempotencyRecord> parse(String json) {
        JsonNode n = json == null ? null : Json.tree(json);
        if (n == null || !n.isObject()) {
            return Optional.empty();
        }
        return Optional.of(new IdempotencyRecord(n.get("idempotency_key").asText(), n.get("fingerprint").asText(),
                UUID.fromString(n.get("save_id").asText()), n.get("version").asLong(),
                OffsetDateTime.parse(n.get("created_at").asText()).toInstant()));
    }
}
