package dev.agentconfig.postgrest;

import java.util.Locale;
import java.util.Set;

import org.apache.camel.Exchange;
import org.apache.camel.spi.HeaderFilterStrategy;

/**
 * Which message headers become PostgREST request headers, and which response headers come back:
 * allow-lists both ways. Nothing of the caller's request (its Authorization, X-Request-Id, path
 * parameters) ever reaches Supabase, and the key is not among the names at all: the HTTP client
 * adds it ({@link PostgrestAuth}).
 */
public final class PostgrestHeaders implements HeaderFilterStrategy {
    private static final Set<String> TO_POSTGREST = Set.of("accept", "content-type", "prefer", "content-profile",
            "accept-profile");
    private static final Set<String> FROM_POSTGREST = Set.of("content-type", "content-range", "proxy-status");

    @Override
    public boolean applyFilterToCamelHeaders(String headerName, Object headerValue, Exchange exchange) {
        return !TO_POSTGREST.contains(headerName.toLowerCase(Locale.ROOT));
    }

    @Override
    public boolean applyFilterToExternalHeaders(String headerName, Object headerValue, Exchange exchange) {
        return !FROM_POSTGREST.contains(headerName.toLowerCase(Locale.ROOT));
    }
}
