package dev.agentconfig.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.agentconfig.api.HttpGuard;
import org.apache.camel.Exchange;
import org.apache.camel.component.platform.http.vertx.HttpMessage;
import org.slf4j.MDC;

/**
 * {@code GET /client/agent-config.js}: the browser client, one ES module (source:
 * src/main/resources/client/agent-config.js, served as it is). Public code without secrets, so served
 * without authentication and to any origin (an ES module from another origin is fetched in CORS mode).
 * Cacheable: a strong ETag (the SHA-256 of the bytes) answers a matching If-None-Match with 304, and
 * Cache-Control lets a browser use its copy for a while and then revalidate in the background, so a
 * page still gets the module while the service restarts. The module's own version is its
 * {@code VERSION} export, repeated in the X-Client-Version header. (Exchange: this is the HTTP adapter.)
 */
public final class ClientModule {
    static final String RESOURCE = "/client/agent-config.js";
    /** The one request header this answer reads (api/HttpHeaderFilter lets it in). */
    public static final String IF_NONE_MATCH = "If-None-Match";
    /** Fresh for 5 minutes, then served at once while it is revalidated (for up to a day). */
    static final String CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400";
    private static final Pattern VERSION = Pattern.compile("export const VERSION = '([0-9A-Za-z.+-]+)';");

    private final byte[] source;
    private final String etag;
    private final String version;

    public ClientModule() {
        try (InputStream in = ClientModule.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + RESOURCE);
            }
            source = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Matcher m = VERSION.matcher(new String(source, StandardCharsets.UTF_8));
        if (!m.find()) {
            throw new IllegalStateException(RESOURCE + " exports no VERSION");
        }
        version = m.group(1);
        etag = "\"" + version + "-" + Base64.getUrlEncoder().withoutPadding().encodeToString(sha256(source)) + "\"";
    }

    public String version() {
        return version;
    }

    public String etag() {
        return etag;
    }

    /**
     * GET: the module (200) or 304; HEAD: the answer GET gives (status, ETag, type, validators), without its
     * body (RFC 9110 9.3.2). Both verbs reach this one step (route http-client-module): the request's method
     * decides the body.
     */
    public void serve(Exchange exchange) {
        String requestId = exchange.getProperty(HttpGuard.REQUEST_ID, String.class);
        String ifNoneMatch = exchange.getMessage().getHeader(IF_NONE_MATCH, String.class);
        boolean head = isHead(exchange);
        exchange.getMessage().removeHeaders("*");
        if (requestId != null) {
            exchange.getMessage().setHeader(HttpGuard.REQUEST_ID, requestId);
        }
        exchange.getMessage().setHeader("ETag", etag);
        exchange.getMessage().setHeader("Cache-Control", CACHE_CONTROL);
        exchange.getMessage().setHeader("X-Client-Version", version);
        exchange.getMessage().setHeader("Access-Control-Allow-Origin", "*");
        exchange.getMessage().setHeader("Access-Control-Expose-Headers", "ETag, X-Client-Version");
        exchange.getMessage().setHeader("Cross-Origin-Resource-Policy", "cross-origin");
        exchange.getMessage().setHeader("X-Content-Type-Options", "nosniff");
        if (matches(ifNoneMatch, etag)) {
            exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 304);
            exchange.getMessage().setBody(null);
        } else {
            exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
            exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/javascript; charset=utf-8");
            exchange.getMessage().setBody(head ? null : source);
        }
        MDC.remove("requestId");
    }

    /** The request's method: Camel's header, or the Vert.x request itself. */
    private static boolean isHead(Exchange exchange) {
        String method = exchange.getMessage().getHeader(Exchange.HTTP_METHOD, String.class);
        if (method == null && exchange.getIn() instanceof HttpMessage message && message.getRequest() != null) {
            method = message.getRequest().method().name();
        }
        return "HEAD".equalsIgnoreCase(method);
    }

    /** RFC 9110 If-None-Match: "*" or a list of entity tags, compared weakly (W/ ignored). */
    static boolean matches(String ifNoneMatch, String etag) {
        if (ifNoneMatch == null || ifNoneMatch.isBlank()) {
            return false;
        }
        for (String tag : ifNoneMatch.split(",")) {
            String t = tag.trim();
            if (t.equals("*")) {
                return true;
            }
            if (t.startsWith("W/")) {
                t = t.substring(2);
            }
            if (t.equals(etag)) {
                return true;
            }
        }
        return false;
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
