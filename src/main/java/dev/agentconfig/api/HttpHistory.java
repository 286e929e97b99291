package dev.agentconfig.api;

import java.util.List;
import java.util.Map;

import dev.agentconfig.core.SaveCommand;
import dev.agentconfig.receipt.History;
import org.apache.camel.Exchange;

/**
 * The HTTP side of the history (Exchange: the HTTP adapter). GET …/{tenantId}/{userId}/history: 200 the values
 * that lost; POST …/history/{changeId}/restore: the value saved again (the save's own answer, 200 or 202); 404
 * an unknown change; 501 on a transport that keeps none.
 */
public final class HttpHistory {
    private final History history;

    public HttpHistory(History history) {
        this.history = history;
    }

    private void available() {
        if (!history.available()) {
            throw new Problem(501, "not-available", "Not available on this transport",
                    "the history is read over the jdbc transport; this service uses PostgREST", Map.of());
        }
    }

    public Map<String, Object> list(Exchange exchange) {
        available();
        return history.of(PathIdentity.of(exchange).user());
    }

    /** The change's value as a save of the path's user: the body of direct:save. */
    public SaveCommand restore(Exchange exchange) {
        available();
        String raw = exchange.getMessage().getHeader("changeId", String.class);
        long changeId;
        try {
            changeId = Long.parseLong(raw == null ? "" : raw);
            if (changeId < 1 || !Long.toString(changeId).equals(raw)) {
                throw new NumberFormatException(raw);
            }
        } catch (NumberFormatException e) {
            throw Problem.badRequest("changeId must be a positive integer (a changeId of GET …/history)",
                    List.of(Map.of("field", "changeId", "message", "is not a change id")));
        }
        var user = PathIdentity.of(exchange).user();
        return history.restore(new History.Restore(user, changeId, exchange.getProperty(HttpGuard.REQUEST_ID,
                String.class))).orElseThrow(() -> Problem.notFound("no change " + changeId + " in the history of "
                + user + " (kept for agentconfig.history.retention, at most agentconfig.history.per-user)"));
    }
}
