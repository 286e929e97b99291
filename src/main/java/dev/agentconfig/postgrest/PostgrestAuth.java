package dev.agentconfig.postgrest;

import org.apache.camel.component.http.HttpClientConfigurer;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;
import org.apache.hc.core5.http.HttpRequestInterceptor;

/**
 * The only holder of the Supabase key. It is added to each request by the HTTP client itself
 * ({@code apikey} and {@code Authorization: Bearer}, equal, as new-style sb_secret_ keys require),
 * so the key never becomes a Camel message header: it cannot reach a log line, the message
 * history, an exception message, the local store or an answer by way of the exchange.
 */
public final class PostgrestAuth implements HttpClientConfigurer {
    private static final String REDACTED = "[redacted]";
    private final String key;

    public PostgrestAuth(String key) {
        this.key = key;
    }

    @Override
    public void configureHttpClient(HttpClientBuilder builder) {
        builder.addRequestInterceptorFirst((HttpRequestInterceptor) (request, entity, context) -> {
            request.setHeader("apikey", key);
            request.setHeader("Authorization", "Bearer " + key);
        });
    }

    /** Text that came back from PostgREST, with the key cut out should it ever quote it. */
    public String redact(String text) {
        return text == null ? null : text.replace(key, REDACTED);
    }

    @Override
    public String toString() {
        return "PostgrestAuth[key " + REDACTED + "]";
    }
}
