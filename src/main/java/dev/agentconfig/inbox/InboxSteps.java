package dev.agentconfig.inbox;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentconfig.core.Origin;
import dev.agentconfig.core.SaveCommand;
import dev.agentconfig.core.SaveOutcome;
import dev.agentconfig.save.Refusal;
import dev.agentconfig.save.SaveAnswer;
import dev.agentconfig.save.SaveCommandParser;
import dev.agentconfig.save.Saving;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.json.Json;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Steps of the inbox route: a JSON save message dropped into {@code <data-dir>/inbox/} goes
 * through direct:save; a done one leaves a receipt (the key masked) in {@code .done/}; a
 * refused one moves to {@code .error/} (its key redacted, see {@link #setAside}) with
 * {@code <name>.reason.txt} beside it. When the save
 * could not be made durable (503) the file stays in the inbox and is tried again.
 */
public final class InboxSteps {
    private static final Logger LOG = LoggerFactory.getLogger(InboxSteps.class);
    private static final String ORIGINAL = "agentconfig.inbox.original";
    private static final String SET_ASIDE = "agentconfig.inbox.setAside";
    private static final String KEEP_COPY = "agentconfig.inbox.keepCopy";
    private static final String REFUSAL = "agentconfig.inbox.refusal";

    private final SaveCommandParser parser = new SaveCommandParser();
    private final Saving saving;

    public InboxSteps(java.nio.file.Path inboxDir, Saving saving) {
        this.saving = saving;
        try {
            java.nio.file.Files.createDirectories(inboxDir);
            java.nio.file.Files.setPosixFilePermissions(inboxDir,
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        } catch (java.io.IOException e) {
            LOG.error("The inbox {} cannot be prepared: {}", inboxDir, e.toString());
        }
    }

    /** Exchange: the file consumer's message; the original bytes are kept for the receipt or the copy in .error/. */
    public void receive(Exchange exchange) {
        byte[] body = exchange.getMessage().getBody(byte[].class);
        exchange.setProperty(ORIGINAL, body);
        exchange.getMessage().setBody(body);
    }

    /** The inbox's own door: tenant and user travel inside the message (the inbox is the operator's directory). */
    public SaveCommand command(byte[] message) {
        return parser.message(message, Origin.INBOX);
    }

    /** The receipt: the message as received with the key masked, plus the save's answer. */
    public void receipt(Exchange exchange) {
        Map<String, Object> outcome = SaveAnswer.of(exchange.getMessage().getBody(SaveOutcome.class));
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

    /**
     * A message that was not saved, audited. The refusal (property agentconfig.inbox.refusal) says
     * whether it is the sender's mistake (sent again as it is it would be refused again: it is set
     * aside) or nothing could be made durable (the file stays in the inbox and is tried again).
     * Exchange: the error-handler glue of the inbox's door.
     */
    public void refusal(Exchange exchange) {
        Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        exchange.setProperty(REFUSAL, saving.refused(exchange.getMessage().getBody(), null, error));
    }

    /** The refusal is the sender's mistake (sent again as it is it would be refused again). */
    public boolean sendersMistake(Exchange exchange) {
        Refusal refusal = exchange.getProperty(REFUSAL, Refusal.class);
        return refusal != null && refusal.sendersMistake();
    }

    /** Not the sender's mistake: thrown on, so that the file consumer keeps the file for another try. */
    public void retryLater(Exchange exchange) throws Exception {
        Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        LOG.warn("Inbox message {} not saved now ({}); it stays in the inbox and is tried again",
                exchange.getMessage().getHeader(Exchange.FILE_NAME_ONLY), exchange.getProperty(REFUSAL, Refusal.class)
                        .detail());
        throw error instanceof Exception e ? e : new IllegalStateException(error);
    }

    /**
     * The copy of a refused message kept in {@code .error/} for an operator, never with a plaintext
     * key: a JSON object is kept with {@code retellApiKey}, and the text of every field the service
     * does not know (a key under a typo), replaced by its mask; anything else that is not a JSON
     * object is not kept at all (the whole file may be a key), only its size and SHA-256, in the
     * reason file. The body becomes the copy; property agentconfig.inbox.keepCopy says whether to write it.
     */
    public void setAside(Exchange exchange) {
        SetAside aside = setAside(exchange.getProperty(ORIGINAL, byte[].class));
        exchange.setProperty(SET_ASIDE, aside);
        // a property, not a null body: a file message re-reads the file when its body is null
        exchange.setProperty(KEEP_COPY, aside.copy() != null);
        exchange.getMessage().setBody(aside.copy() == null ? new byte[0] : aside.copy());
        exchange.getMessage().setHeader(Exchange.FILE_NAME, exchange.getMessage().getHeader(Exchange.FILE_NAME_ONLY));
    }

    /** What is kept of a refused message, and the sentence that says so in its reason file. */
    public record SetAside(byte[] copy, String note) {
    }

    /** Fields kept as they are: identifiers and agent ids, which are not secret. */
    private static final java.util.Set<String> PLAIN_FIELDS = java.util.Set.of("tenantId", "userId", "callAgentId",
            "smsAgentId", "editedAt");

    /** Also the Kafka door's dead-letter copy of a refused record (kafka/KafkaDoor). */
    public static SetAside setAside(byte[] original) {
        byte[] bytes = original == null ? new byte[0] : original;
        JsonNode message;
        try {
            message = Json.MAPPER.readTree(bytes);
        } catch (java.io.IOException | RuntimeException e) {
            message = null;
        }
        if (message == null || !message.isObject()) {
            return new SetAside(null, "content not kept: the message is not a JSON object and may hold a key in "
                    + "plaintext; it was " + bytes.length + " bytes, sha256 " + sha256(bytes));
        }
        ObjectNode copy = Json.MAPPER.createObjectNode();
        boolean keyRedacted = false;
        java.util.List<String> masked = new java.util.ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = message.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            boolean plain = PLAIN_FIELDS.contains(name);
            if (v.isContainerNode()) {
                copy.put(name, "[redacted " + v.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + "]");
                masked.add(name);
            } else if (v.isTextual() && ("retellApiKey".equals(name)
                    || !plain && dev.agentconfig.core.Field.RETELL_API_KEY.valid(v.textValue()))) {
                // the key, and any text under an unknown name that could be one (a typo of the field)
                copy.put(name, FieldCipher.mask(v.textValue()));
                if ("retellApiKey".equals(name)) {
                    keyRedacted = true;
                } else {
                    masked.add(name);
                }
            } else {
                copy.set(name, v);
            }
        }
        StringBuilder note = new StringBuilder();
        note.append(keyRedacted
                ? "retellApiKey redacted: the copy in this directory holds its mask (first and last characters), "
                        + "never the key; send the key again with the corrected message"
                : "no retellApiKey in the message");
        if (!masked.isEmpty()) {
            note.append("; the values of ").append(masked.stream().map(SaveCommandParser::sanitize).toList())
                    .append(" are masked as well (a key may have been sent under another name)");
        }
        return new SetAside(Json.writeBytes(copy), note.toString());
    }

    private static String sha256(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public void reason(Exchange exchange) {
        Refusal p = exchange.getProperty(REFUSAL, Refusal.class);
        SetAside aside = exchange.getProperty(SET_ASIDE, SetAside.class);
        String name = exchange.getMessage().getHeader(Exchange.FILE_NAME_ONLY, String.class);
        exchange.getMessage().setBody(p.status() + " " + p.title() + ": " + p.detail() + "\n"
                + (aside == null ? "" : aside.note() + "\n"));
        exchange.getMessage().setHeader(Exchange.FILE_NAME, name + ".reason.txt");
        LOG.warn("Inbox message {} refused ({}): {}", name, p.status(), p.detail());
    }
}
