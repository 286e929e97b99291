package dev.agentconfig.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.camel.Exchange;

/**
 * {@code GET /diagnostics}: the page a person uses to diagnose one user. It is static (no
 * secret, no data: it asks the diagnostics endpoint with the token the person types), so it is
 * served without authentication. Its inline script and style are allowed by their hashes in the
 * Content-Security-Policy, and so is the browser client it imports from this origin; nothing else may
 * load or run, and it may only talk to this origin.
 */
public final class DiagnosticsPage {
    static final String RESOURCE = "/diagnostics/index.html";
    private static final Pattern INLINE = Pattern.compile("<(script|style)>(.*?)</\\1>", Pattern.DOTALL);

    private final String html;
    private final String contentSecurityPolicy;

    public DiagnosticsPage() {
        try (InputStream in = DiagnosticsPage.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + RESOURCE);
            }
            html = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> scripts = new ArrayList<>();
        List<String> styles = new ArrayList<>();
        Matcher m = INLINE.matcher(html);
        while (m.find()) {
            ("script".equals(m.group(1)) ? scripts : styles).add("'sha256-" + sha256(m.group(2)) + "'");
        }
        // 'self' for the browser client the page imports (/client/agent-config.js): every other answer of
        // this origin is JSON, problem+json or this HTML, none of which a browser runs as a module script
        contentSecurityPolicy = "default-src 'none'; script-src 'self' " + String.join(" ", scripts)
                + "; style-src " + String.join(" ", styles)
                + "; connect-src 'self'; img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";
    }

    public void serve(Exchange exchange) {
        String requestId = exchange.getProperty(dev.agentconfig.api.HttpGuard.REQUEST_ID, String.class);
        exchange.getMessage().removeHeaders("*");
        if (requestId != null) {
            exchange.getMessage().setHeader(dev.agentconfig.api.HttpGuard.REQUEST_ID, requestId);
        }
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/html; charset=utf-8");
        exchange.getMessage().setHeader("Content-Security-Policy", contentSecurityPolicy);
        exchange.getMessage().setHeader("X-Content-Type-Options", "nosniff");
        exchange.getMessage().setHeader("Referrer-Policy", "no-referrer");
        exchange.getMessage().setHeader("Cache-Control", "no-store");
        exchange.getMessage().setBody(html);
        org.slf4j.MDC.remove("requestId");
    }

    private static String sha256(String text) {
        try {
            return Base64.getEncoder().encodeToString(
                    MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
