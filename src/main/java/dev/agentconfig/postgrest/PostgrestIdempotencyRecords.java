package dev.agentconfig.postgrest;

import java.time.Instant;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentconfig.core.IdempotencyRecord;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.json.Json;
import dev.agentconfig.transport.ClassifiedFailureException;
import dev.agentconfig.transport.IdempotencyRecords;

/**
 * Idempotency-Keys over the rest transport: the functions of migration V6 through PostgREST's RPC ({@code POST
 * /rest/v1/rpc/<name>}, named arguments as one JSON object), sent through route postgrest-call like every other
 * request. A function answering a JSON null comes back as the body {@code null}.
 */
public final class PostgrestIdempotencyRecords implements IdempotencyRecords {
    private final PostgrestClient client;

    public PostgrestIdempotencyRecords(PostgrestClient client) {
        this.client = client;
    }

    @Override
    public Optional<IdempotencyRecord> find(UserKey user, String key, Instant notBefore) {
        ObjectNode args = Json.MAPPER.createObjectNode();
        args.put("p_tenant_id", user.tenantId());
        args.put("p_user_id", user.userId().toString());
        args.put("p_key", key);
        args.put("p_not_before", notBefore.toString());
        return IdempotencyRecords.parse(call("/rpc/save_idempotency_find", args.toString()));
    }

    @Override
    public IdempotencyRecord record(UserKey user, IdempotencyRecord record, Instant notBefore, int perUser) {
        ObjectNode args = Json.MAPPER.createObjectNode();
        args.put("p_tenant_id", user.tenantId());
        args.put("p_user_id", user.userId().toString());
        args.put("p_key", record.key());
        args.put("p_fingerprint", record.fingerprint());
        args.put("p_save_id", record.saveId().toString());
        args.put("p_version", record.version());
        args.put("p_at", record.at().toString());
        args.put("p_not_before", notBefore.toString());
        args.put("p_per_user", perUser);
        return IdempotencyRecords.parse(call("/rpc/save_idempotency_record", args.toString())).orElse(record);
    }

    private String call(String path, String body) {
        PostgrestClient.Result r = client.call(PostgrestRequest.post(path, null, null, body, true));
        if (!r.ok()) {
            throw new ClassifiedFailureException(r.failure());
        }
        return r.body();
    }
}
