package dev.agentconfig.postgrest;

import java.time.Duration;
import java.util.function.Function;
import java.util.regex.Pattern;

import dev.agentconfig.config.Settings;
import org.apache.camel.CamelContext;

/**
 * The rest transport's configuration (agentconfig.supabase.*). The key is deliberately not part
 * of this record (records print every component): only {@link PostgrestAuth} holds it.
 *
 * @param url              the project URL; requests go to {@code <url>/rest/v1}
 * @param connectTimeout   how long to wait for a connection to PostgREST
 * @param timeout          how long to wait for its answer
 * @param schemaReloadWait how long to let PostgREST reload its schema cache after NOTIFY pgrst
 */
public record PostgrestSettings(String url, Duration connectTimeout, Duration timeout, Duration schemaReloadWait) {
    /** The profile (schema) every request names: Content-Profile on writes, Accept-Profile on reads. */
    public static final String PROFILE = "public";
    private static final Pattern URL = Pattern.compile("https?://[^/?#\\s]+(/[^?#\\s]*[^/?#\\s])?");
    private static final Pattern KEY = Pattern.compile("[\\x21-\\x7E]{16,4096}");

    /** Reads and checks the keys; the service refuses to start on a missing or malformed one. */
    public static PostgrestSettings from(Settings settings, CamelContext context) {
        Function<String, String> get = key -> context.getPropertiesComponent().resolveProperty(key)
                .map(String::trim)
                .filter(v -> !v.isEmpty())
                .orElseThrow(() -> new IllegalStateException("configuration key " + key + " is required"));
        String url = settings.supabaseUrl().orElseThrow(() -> new IllegalStateException(
                "agentconfig.supabase.url (AGENTCONFIG_SUPABASE_URL) is required with agentconfig.transport=rest: "
                        + "the project URL, for example https://abcdefgh.supabase.co"));
        if (!URL.matcher(url).matches()) {
            throw new IllegalStateException("agentconfig.supabase.url must be an http(s) URL without a trailing '/', "
                    + "query or fragment (for example https://abcdefgh.supabase.co), not '" + url + "'");
        }
        return new PostgrestSettings(url,
                Settings.duration(get.apply("agentconfig.supabase.connect-timeout")),
                Settings.duration(get.apply("agentconfig.supabase.timeout")),
                Duration.ofMillis(Long.parseLong(get.apply("agentconfig.supabase.schema-reload-wait"))));
    }

    /** The Supabase key from the configuration (the environment), checked but never echoed. */
    public static String key(Settings settings) {
        String key = settings.supabaseKey().orElseThrow(() -> new IllegalStateException(
                "agentconfig.supabase.key (AGENTCONFIG_SUPABASE_KEY) is required with agentconfig.transport=rest: "
                        + "the project's service-role key or a secret key (sb_secret_…)"));
        if (!KEY.matcher(key).matches()) {
            throw new IllegalStateException("agentconfig.supabase.key is not a Supabase key (expected 16 or more "
                    + "printable characters without whitespace)");
        }
        return key;
    }
}
