package dev.agentconfig.postgrest;

import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentconfig.json.Json;
import dev.agentconfig.transport.ClassifiedFailureException;
import dev.agentconfig.transport.SealedKeys;

/**
 * Key rotation over the rest transport: the functions of migration V5 through PostgREST's RPC
 * ({@code POST /rest/v1/rpc/<name>}, named arguments as one JSON object), sent through route
 * postgrest-call like every other request (one client, one set of headers, one classification).
 * They run as service_role and go through the same guard triggers as a save.
 */
public final class PostgrestSealedKeys implements SealedKeys {
    private final PostgrestClient client;

    public PostgrestSealedKeys(PostgrestClient client) {
        this.client = client;
    }

    @Override
    public KeyCounts count() {
        return KeyCounts.of(Json.tree(call("/rpc/retell_key_usage", "{}")));
    }

    @Override
    public List<SealedKeyRow> toReseal(String activeKeyId, UUID after, int limit) {
        ObjectNode args = Json.MAPPER.createObjectNode();
        args.put("p_active_key_id", activeKeyId);
        if (after == null) {
            args.putNull("p_after");
        } else {
            args.put("p_after", after.toString());
        }
        args.put("p_limit", limit);
        return SealedKeyRow.of(Json.tree(call("/rpc/retell_keys_to_reseal", args.toString())));
    }

    @Override
    public List<ResealResult> reseal(List<Reseal> items) {
        ObjectNode args = Json.MAPPER.createObjectNode();
        args.set("p_items", Json.tree(Reseal.json(items)));
        return ResealResult.of(Json.tree(call("/rpc/reseal_retell_keys", args.toString())));
    }

    private String call(String path, String body) {
        PostgrestClient.Result r = client.call(PostgrestRequest.post(path, null, null, body, true));
        if (!r.ok()) {
            throw new ClassifiedFailureException(r.failure());
        }
        if (r.body() == null) {
            throw new IllegalStateException("PostgREST answered " + path + " without a body");
        }
        return r.body();
    }
}
