package dev.agentconfig.api;

import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import dev.agentconfig.receipt.Receipts;
import org.apache.camel.Exchange;

/**
 * The HTTP side of receipts (Exchange: the HTTP adapter). GET …/{tenantId}/{userId}/saves/{saveId}: 200 the
 * receipt; 404 when the save is not known (any more); 501 on a transport that gives none.
 */
public final class HttpReceipts {
    private final Receipts receipts;

    public HttpReceipts(Receipts receipts) {
        this.receipts = receipts;
    }

    /** The path's user (checked against the credential by HttpGuard#authenticate) and saveId (a UUID, else 400). */
    public Receipts.Request request(Exchange exchange) {
        if (!receipts.available()) {
            throw new Problem(501, "not-available", "Not available on this transport",
                    "receipts are derived from the audit rows over the jdbc transport; this service uses PostgREST",
                    Map.of());
        }
        String saveId = exchange.getMessage().getHeader("saveId", String.class);
        UUID id;
        try {
            id = UUID.fromString(saveId == null ? "" : saveId);
            if (!id.toString().equalsIgnoreCase(saveId)) {
                throw new IllegalArgumentException("not canonical");
            }
        } catch (IllegalArgumentException e) {
            throw Problem.badRequest("saveId must be a UUID (the saveId of a save's answer)",
                    java.util.List.of(Map.of("field", "saveId", "message", "is not a UUID")));
        }
        return new Receipts.Request(PathIdentity.of(exchange).user(), id);
    }

    public Map<String, Object> answer(Exchange exchange) {
        Receipts.Request request = exchange.getMessage().getBody(Receipts.Request.class);
        Optional<Map<String, Object>> receipt = receipts.receipt(request);
        return receipt.orElseThrow(() -> Problem.notFound("no save " + request.saveId() + " of " + request.user()
                + " is known (a receipt is kept for agentconfig.receipts.retention after its save)"));
    }
}
