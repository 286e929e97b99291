package dev.agentconfig.api;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.sync.Requeue;
import org.apache.camel.Exchange;

/** The HTTP answer of POST …/retry: 202 re-queued, 404 no entry, 409 not quarantined. (Exchange: the HTTP adapter.) */
public final class HttpRequeue {

    public Map<String, Object> answer(Exchange exchange) {
        Requeue.Answer answer = exchange.getMessage().getBody(Requeue.Answer.class);
        if (answer instanceof Requeue.Answer.NoEntry n) {
            throw Problem.notFound("the local store holds no entry for " + n.key() + "; nothing to retry");
        }
        if (answer instanceof Requeue.Answer.NotQuarantined nq) {
            PendingEntry entry = nq.entry();
            throw new Problem(409, "not-quarantined", "The entry is not quarantined",
                    "the local entry for " + entry.tenantId() + "/" + entry.userId() + " is " + entry.state()
                            + "; it is retried by the sync on its own (next attempt " + entry.nextAttemptAt() + ")",
                    Map.of("state", entry.state()));
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
