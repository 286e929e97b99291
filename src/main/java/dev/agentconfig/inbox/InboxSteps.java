package dev.agentconfig.inbox;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentconfig.api.Problem;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.json.Json;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Steps of the inbox route: a JSON save message dropped into {@code <data-dir>/inbox/} goes
 * through direct:save; a done one leaves a receipt (the key masked) in {@code .done/}; a
 * refused one moves to {@code .error/} with {@code <name>.reason.txt} beside it. When the save
 * could not be made durable (503) the file stays in the inbox and is tried again.
 */
public final class InboxSteps {
    private static final Logger LOG = LoggerFactory.getLogger(InboxSteps.class);
    private static final String ORIGINAL = "agentconfig.inbox.original";

    public InboxSteps(java.nio.file.Path inboxDir) {
        try {
            java.nio.file.Files.createDirectories(inboxDir);
            java.nio.file.Files.setPosixFilePermissions(inboxDir,
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        } catch (java.io.IOException e) {
            LOG.error("The inbox {} cannot be prepared: {}", inboxDir, e.toString());
        }
    }

    public void receive(Exchange exchange) {
        byte[] body = exchange.getMessage().getBody(byte[].class);
        exchange.setProperty(ORIGINAL, body);
        exchange.getMessage().setBody(body);
    }

    /** The receipt: the message as received with the key masked, plus the save's answer. */
    @SuppressWarnings("unchecked")
    public void receipt(Exchange exchange) {
        Map<String, Object> outcome = exchange.getMessage().getBody(Map.class);
        byte[] original = exchange.getProperty(ORIGINAL, byte[].class);
        ObjectNode receipt = Json.MAPPER.createObjectNode();
        JsonNode message = Json.tree(new String(original, StandardCharsets.UTF_8));
        ObjectNode masked = Json.MAPPER.createObjectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = message.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if ("retellApiKey".equals(e.getKey()) && e.getValue().isTextual()) {
                masked.put(e.getKey(), FieldCipher.mask(e.getValue().textValue()));
            } else {
                masked.set(e.getKey(), e.getValue());
            }
        }
        receipt.set("message", masked);
        receipt.set("outcome", Json.MAPPER.valueToTree(outcome));
        receipt.put("processedAt", Instant.now().toString());
        exchange.getMessage().setBody(receipt.toPrettyString());
        exchange.getMessage().setHeader(Exchange.FILE_NAME, exchange.getMessage().getHeader(Exchange.FILE_NAME_ONLY));
        LOG.info("Inbox message {} saved: {}", exchange.getMessage().getHeader(Exchange.FILE_NAME_ONLY),
                outcome.get("status"));
    }

    /** A refused message (4xx): retried as-is would fail again, so it is set aside. Else rethrow. */
    public boolean refused(Exchange exchange) {
        Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        return error instanceof Problem p && p.status() >= 400 && p.status() < 500;
    }

    public void original(Exchange exchange) {
        exchange.getMessage().setBody(exchange.getProperty(ORIGINAL, byte[].class));
        exchange.getMessage().setHeader(Exchange.FILE_NAME, exchange.getMessage().getHeader(Exchange.FILE_NAME_ONLY));
    }

    public void reason(Exchange exchange) {
        Problem p = (Problem) exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        String name = exchange.getMessage().getHeader(Exchange.FILE_NAME_ONLY, String.class);
        exchange.getMessage().setBody(p.status() + " " + p.title() + ": " + p.detail() + "\n");
        exchange.getMessage().setHeader(Exchange.FILE_NAME, name + ".reason.txt");
        LOG.warn("Inbox message {} refused ({}): {}", name, p.status(), p.detail());
    }
}
