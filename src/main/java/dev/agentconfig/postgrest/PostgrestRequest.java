package dev.agentconfig.postgrest;

import java.util.regex.Pattern;

/**
 * One request to PostgREST, relative to {@code <supabase-url>/rest/v1}. Built by the route steps,
 * sent by route postgrest-call. The body may carry sealed values: {@link #toString()} leaves it out.
 *
 * @param method GET or POST
 * @param path   the resource, {@code /user_profiles} or {@code /rpc/update_user_api_keys}
 * @param query  the raw query string without '?', or null
 * @param prefer the Prefer header, or null
 * @param body   the JSON body of a write, or null
 * @param heal   a schema-cache miss (PGRST202/204/205) may trigger a reload and one retry
 * @param about  what the request is about (the save or the user key it serves), handed back with the
 *               answer so the next step can tell what the answer means; null for a probe
 */
public record PostgrestRequest(String method, String path, String query, String prefer, String body, boolean heal,
                               Object about) {
    /** Values that go into a query string unencoded: validated identifiers, column lists, filters. */
    private static final Pattern SAFE_QUERY = Pattern.compile("[A-Za-z0-9_.,:=&-]*");

    public PostgrestRequest {
        if (query != null && !SAFE_QUERY.matcher(query).matches()) {
            throw new IllegalArgumentException("unsafe characters in a PostgREST query string");
        }
    }

    public static PostgrestRequest get(String path, String query, boolean heal) {
        return new PostgrestRequest("GET", path, query, null, null, heal, null);
    }

    public static PostgrestRequest post(String path, String query, String prefer, String body, boolean heal) {
        return new PostgrestRequest("POST", path, query, prefer, body, heal, null);
    }

    /** The same request, about a save or a user key. */
    public PostgrestRequest about(Object subject) {
        return new PostgrestRequest(method, path, query, prefer, body, heal, subject);
    }

    public boolean write() {
        return !"GET".equals(method);
    }

    /** The resource as metrics and the drift register name it: {@code user_profiles}, {@code rpc/update_user_api_keys}. */
    public String resource() {
        return path.startsWith("/") ? path.substring(1) : path;
    }

    /** The kind of request, without its query: {@code POST /user_profiles}. */
    public String operation() {
        return method + " " + path;
    }

    /** {@code eq.<value>} for a value that is already validated (a UUID, a tenant id). */
    public static String eq(String column, String value) {
        return column + "=eq." + value;
    }

    @Override
    public String toString() {
        return method + " /rest/v1" + path + (query == null ? "" : "?" + query);
    }
}
