package dev.agentconfig.postgrest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.agentconfig.core.Failure;

/**
 * What PostgREST last said is missing, per kind of request (method and resource), until such a request succeeds:
 * health and diagnostics name it ("column public.user_settings.api_key_updated_at, PGRST204").
 */
public final class SchemaDriftRegister {

    /** One missing object, as a request ({@code POST /user_profiles}) reported it. */
    public record Drift(String request, String missing, String code, String message, Instant since) {
    }

    private final Map<String, Drift> byResource = new ConcurrentHashMap<>();

    void record(PostgrestRequest request, Failure failure) {
        String missing = MissingObject.name(failure, request);
        byResource.compute(request.operation(), (r, old) -> old != null && old.missing().equals(missing)
                ? old : new Drift(r, missing, failure.code(), failure.message(), Instant.now()));
    }

    void resolved(PostgrestRequest request) {
        byResource.remove(request.operation());
    }

    public List<Drift> current() {
        List<Drift> all = new ArrayList<>(byResource.values());
        all.sort((a, b) -> a.request().compareTo(b.request()));
        return all;
    }

    /** "column public.user_settings.api_key_updated_at (…) [PGRST204 on POST /user_settings since …]". */
    public static String describe(Drift d) {
        return d.missing() + " [" + d.code() + " on " + d.request() + " since " + d.since() + "]";
    }
}
