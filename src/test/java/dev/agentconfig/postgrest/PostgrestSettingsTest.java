package dev.agentconfig.postgrest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

import dev.agentconfig.config.Settings;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

/** The rest transport refuses to start on a missing or malformed URL or key, and never echoes the key. */
class PostgrestSettingsTest {

    private static Settings settings(DefaultCamelContext context, Properties overrides) throws IOException {
        Properties p = new Properties();
        try (InputStream in = PostgrestSettingsTest.class.getResourceAsStream("/application.properties")) {
            p.load(in);
        }
        p.putAll(overrides);
        context.getPropertiesComponent().setInitialProperties(p);
        return Settings.from(context);
    }

    private static Properties rest(String url, String key) {
        Properties p = new Properties();
        p.setProperty("agentconfig.transport", "rest");
        p.setProperty("agentconfig.supabase.url", url);
        p.setProperty("agentconfig.supabase.key", key);
        return p;
    }

    @Test
    void aValidConfigurationIsReadWithoutTheKey() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            String key = "sb_secret_0123456789abcdefghij";
            Settings s = settings(context, rest("https://abcdefgh.supabase.co", key));
            PostgrestSettings rest = PostgrestSettings.from(s, context);
            assertThat(rest.url()).isEqualTo("https://abcdefgh.supabase.co");
            assertThat(rest.timeout().toMillis()).isEqualTo(2000);
            assertThat(rest.schemaReloadWait().toMillis()).isEqualTo(500);
            assertThat(rest.toString()).doesNotContain(key);
            assertThat(PostgrestSettings.key(s)).isEqualTo(key);
            assertThat(new PostgrestAuth(key).toString()).doesNotContain(key);
            assertThat(s.embeddedDatabase()).as("no embedded PostgreSQL with rest").isFalse();
            assertThat(s.directDatabase()).isFalse();
        }
    }

    @Test
    void missingOrMalformedValuesStopTheStartWithoutEchoingTheKey() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Settings noKey = settings(context, rest("https://abcdefgh.supabase.co", ""));
            assertThatThrownBy(() -> PostgrestSettings.key(noKey)).hasMessageContaining("AGENTCONFIG_SUPABASE_KEY");
        }
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            String badKey = "sb_secret_with a space inside it";
            Settings s = settings(context, rest("https://abcdefgh.supabase.co", badKey));
            assertThatThrownBy(() -> PostgrestSettings.key(s)).hasMessageNotContaining(badKey)
                    .hasMessageNotContaining("with a space");
        }
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Settings s = settings(context, rest("https://abcdefgh.supabase.co/", "sb_secret_0123456789abcdefghij"));
            assertThatThrownBy(() -> PostgrestSettings.from(s, context)).hasMessageContaining("trailing '/'");
        }
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Properties p = new Properties();
            p.setProperty("agentconfig.transport", "REST");
            assertThatThrownBy(() -> settings(context, p)).hasMessageContaining("'jdbc' or 'rest'");
        }
    }
}
