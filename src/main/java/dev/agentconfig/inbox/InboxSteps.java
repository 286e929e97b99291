package dev.agentconfig.inbox;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentconfig.core.InvalidSave;
import dev.agentconfig.core.Origin;
import dev.agentconfig.core.SaveCommand;
import dev.agentconfig.core.SaveOutcome;
import dev.agentconfig.save.Refusal;
import dev.agentconfig.save.SaveAnswer;
import dev.agentconfig.save.SaveCommandParser;
import dev.agentconfig.save.Saving;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.json.Json;
import dev.agentconfig.observe.Tracing;
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
    /** The file's name with every control character written as %XX: the name of its receipt, copy and reason. */
    private static final String NAME = "agentconfig.inbox.name";
    /** Why the content was not read at all (a symbolic link). */
    private static final String NOT_READ = "agentconfig.inbox.notRead";

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

    /**
     * Exchange: the file consumer's message; the original bytes are kept for the receipt or the copy in .error/.
     * Refused (400, set aside in .error/ with its reason) before anything is saved: a symbolic link, never
     * followed (its target is not read, not even hashed), and a file whose name holds a control character
     * (a newline, ...), which is read and set aside under its name with each such character written %XX.
     */
    public void receive(Exchange exchange) {
        String name = exchange.getMessage().getHeader(Exchange.FILE_NAME_ONLY, String.class);
        String safe = printableName(name);
        exchange.setProperty(NAME, safe);
        Path file = Path.of(exchange.getMessage().getHeader(Exchange.FILE_PATH, String.class));
        if (Files.isSymbolicLink(file)) {
            exchange.setProperty(NOT_READ, "content not read: the file is a symbolic link, not followed (its target "
                    + "was neither read nor hashed); the link was removed from the inbox");
            throw new InvalidSave("the inbox file " + safe + " is a symbolic link: not followed; drop the file itself",
                    List.of());
        }
        byte[] body = exchange.getMessage().getBody(byte[].class);
        exchange.setProperty(ORIGINAL, body);
        exchange.getMessage().setBody(body);
        if (!safe.equals(name)) {
            throw new InvalidSave("the inbox file name " + safe + " holds control characters (written %XX here); "
                    + "rename the file", List.of());
        }
    }

    /** A file name with every control character (and line or paragraph separator) written as %XX. */
    static String printableName(String name) {
        StringBuilder sb = new StringBuilder(name.length());
        name.codePoints().forEach(c -> {
            if (Character.isISOControl(c) || Character.getType(c) == Character.LINE_SEPARATOR
                    || Character.getType(c) == Character.PARAGRAPH_SEPARATOR) {
                sb.append(String.format(Locale.ROOT, "%%%02X", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        return sb.toString();
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
        String traceId = Tracing.traceId(); // traces on: the trace of this message's spans (observe/Tracing)
        if (traceId != null) {
            receipt.put("traceId", traceId);
        }
        exchange.getMessage().setBody(receipt.toPrettyString());
        exchange.getMessage().setHeader(Exchange.FILE_NAME, exchange.getProperty(NAME, String.class));
        LOG.info("Inbox message {} saved: {}", exchange.getProperty(NAME, String.class),
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
                exchange.getProperty(NAME, String.class), exchange.getProperty(REFUSAL, Refusal.class)
                        .detail());
        throw error instanceof Exception e ? e : new IllegalStateException(error);
    }

    /**
     * The copy of a refused message kept in {@code .error/} for an operator: only what is needed to act on it,
     * never the caller's values. A JSON object keeps {@code tenantId} and {@code userId}; {@code retellApiKey},
     * {@code callAgentId}, {@code smsAgentId} and {@code editedAt} are kept as their masks (first and last
     * characters); any other field is dropped, name and value (a key may have been sent under any name; the
     * reason file says which field the message was refused for). Anything that is not a JSON object is not
     * kept at all (the whole file may be a key), only its size and SHA-256, in the reason file. The body
     * becomes the copy; property agentconfig.inbox.keepCopy says whether to write it.
     */
    public void setAside(Exchange exchange) {
        String notRead = exchange.getProperty(NOT_READ, String.class);
        SetAside aside = notRead != null ? new SetAside(null, notRead)
                : setAside(exchange.getProperty(ORIGINAL, byte[].class));
        exchange.setProperty(SET_ASIDE, aside);
        // a property, not a null body: a file message re-reads the file when its body is null
        exchange.setProperty(KEEP_COPY, aside.copy() != null);
        exchange.getMessage().setBody(aside.copy() == null ? new byte[0] : aside.copy());
        exchange.getMessage().setHeader(Exchange.FILE_NAME, exchange.getProperty(NAME, String.class));
    }

    /** What is kept of a refused message, and the sentence that says so in its reason file. */
    public record SetAside(byte[] copy, String note) {
    }

    /** Fields kept as they are: the identifiers an operator needs to find the user. */
    private static final Set<String> IDENTIFIERS = Set.of("tenantId", "userId");
    /** Fields kept as their mask: the service's own fields, the caller's values. */
    private static final Set<String> MASKED = Set.of("retellApiKey", "callAgentId", "smsAgentId", "editedAt");

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
        List<String> masked = new ArrayList<>();
        int dropped = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = message.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (IDENTIFIERS.contains(name) && v.isTextual()) {
                copy.set(name, v);
            } else if (IDENTIFIERS.contains(name) || MASKED.contains(name)) {
                copy.put(name, v.isTextual() ? FieldCipher.mask(v.textValue())
                        : "[redacted " + v.getNodeType().name().toLowerCase(Locale.ROOT) + "]");
                masked.add(name);
            } else {
                dropped++;
            }
        }
        StringBuilder note = new StringBuilder();
        note.append(masked.contains("retellApiKey")
                ? "retellApiKey redacted: the copy in this directory holds its mask (first and last characters), "
                        + "never the key; send the key again with the corrected message"
                : "no retellApiKey in the message");
        masked.remove("retellApiKey");
        if (!masked.isEmpty()) {
            note.append("; ").append(masked).append(" kept as their masks only");
        }
        if (dropped > 0) {
            note.append("; ").append(dropped).append(dropped == 1 ? " other field" : " other fields")
                    .append(" not kept (name and value: a key may have been sent under any name)");
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
        String name = exchange.getProperty(NAME, String.class);
        exchange.getMessage().setBody(p.status() + " " + p.title() + ": " + p.detail() + "\n"
                + (aside == null ? "" : aside.note() + "\n"));
        exchange.getMessage().setHeader(Exchange.FILE_NAME, name + ".reason.txt");
        LOG.warn("Inbox message {} refused ({}): {}", name, p.status(), p.detail());
    }
}
