package dev.agentconfig.postgrest;

import java.util.List;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditSink;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.json.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Audit rows over PostgREST: one {@code POST /audit_log} with the batch as a JSON array. */
public final class PostgrestAuditSink implements AuditSink {
    private static final Logger LOG = LoggerFactory.getLogger(PostgrestAuditSink.class);

    private final PostgrestClient client;

    public PostgrestAuditSink(PostgrestClient client) {
        this.client = client;
    }

    @Override
    public Outcome write(List<AuditEvent> batch) {
        ArrayNode rows = Json.MAPPER.createArrayNode();
        for (AuditEvent e : batch) {
            ObjectNode row = rows.addObject();
            row.put("at", e.at().toString());
            row.put("event", e.event());
            row.put("tenant_id", e.tenantId());
            row.put("user_id", e.userId() == null ? null : e.userId().toString());
            row.put("success", e.success());
            row.set("details", Json.MAPPER.valueToTree(e.details()));
        }
        PostgrestClient.Result r = client.call(PostgrestRequest.post("/audit_log", null, "return=minimal",
                rows.toString(), false));
        if (r.ok()) {
            return Outcome.WRITTEN;
        }
        if (r.failure().failureClass() == FailureClass.TRANSIENT) {
            LOG.debug("Audit write postponed: {} {}", r.failure().code(), r.failure().message());
            return Outcome.POSTPONED;
        }
        // the rows themselves (or the table) are the problem: retrying will not help
        LOG.warn("Audit rows not written ({} {}): {} dropped", r.failure().code(), r.failure().message(), batch.size());
        return Outcome.DROPPED;
    }
}
