package dev.agentconfig.postgrest;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.agentconfig.core.Failure;

/**
 * Names, for a person, the object a schema-drift answer says is missing, from PostgREST's own
 * message: "Could not find the 'api_key_updated_at' column of 'user_settings' in the schema cache"
 * becomes "column public.user_settings.api_key_updated_at".
 */
final class MissingObject {
    private static final Pattern CACHE_COLUMN = Pattern.compile("Could not find the '([^']+)' column of '([^']+)'");
    private static final Pattern CACHE_FUNCTION = Pattern.compile("Could not find the function (\\S+?\\([^)]*\\))");
    private static final Pattern CACHE_TABLE = Pattern.compile("Could not find the table '([^']+)'");
    private static final Pattern COLUMN = Pattern.compile("column \"?([\\w.]+)\"? (?:of relation \"(\\w+)\" )?does not exist");
    private static final Pattern RELATION = Pattern.compile("relation \"([\\w.]+)\" does not exist");
    private static final Pattern FUNCTION = Pattern.compile("function (\\S+\\(.*?\\)) does not exist");
    private static final Pattern PERMISSION = Pattern.compile("permission denied for (\\w+) (\\S+)");

    private MissingObject() {
    }

    static String name(Failure failure, PostgrestRequest request) {
        String m = failure.message() == null ? "" : failure.message();
        Matcher x;
        if ((x = CACHE_COLUMN.matcher(m)).find()) {
            return "column " + qualified(x.group(2)) + "." + x.group(1) + " (unknown to PostgREST's schema cache)";
        }
        if ((x = CACHE_FUNCTION.matcher(m)).find()) {
            return "function " + x.group(1) + " (unknown to PostgREST's schema cache)";
        }
        if ((x = CACHE_TABLE.matcher(m)).find()) {
            return "table " + qualified(x.group(1)) + " (unknown to PostgREST's schema cache)";
        }
        if ((x = COLUMN.matcher(m)).find()) {
            // "column user_settings.x does not exist" or "column "x" of relation "user_settings" does not exist"
            String column = x.group(2) == null ? x.group(1) : x.group(2) + "." + x.group(1);
            return "column " + (column.chars().filter(ch -> ch == '.').count() >= 2 ? column : "public." + column);
        }
        if ((x = RELATION.matcher(m)).find()) {
            return "table " + qualified(x.group(1));
        }
        if ((x = FUNCTION.matcher(m)).find()) {
            return "function " + x.group(1);
        }
        if ("42P10".equals(failure.code())) {
            return "unique constraint matching on_conflict of " + request + " (the seed's 409 / 23505 bug)";
        }
        if ((x = PERMISSION.matcher(m)).find()) {
            return "grant on " + x.group(1) + " " + x.group(2) + " for the key's role";
        }
        if ("42501".equals(failure.code())) {
            return "grant or row-level-security policy for the key's role on /" + request.resource()
                    + " (is agentconfig.supabase.key the anon key instead of a service-role or secret key?)";
        }
        return "/" + request.resource() + ": " + m;
    }

    private static String qualified(String name) {
        return name.contains(".") ? name : "public." + name;
    }
}
