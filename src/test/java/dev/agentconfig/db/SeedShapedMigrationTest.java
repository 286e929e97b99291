package dev.agentconfig.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The migrations against a database that already holds the seed's tables, rows and insecure
 * function (as an existing Supabase project would), used as an external database.
 */
class SeedShapedMigrationTest extends ServiceTestSupport {
    static final UUID SEED_USER = UUID.fromString("11111111-2222-4333-8444-555555555555");
    static final UUID SEED_USER_2 = UUID.fromString("66666666-7777-4888-9999-000000000000");
    static final String SEED_PLAINTEXT = "key_TESTSECRET_seedlegacy0001";

    private EmbeddedPostgres seeded;

    @Override
    protected Properties extraProperties() {
        try {
            seeded = EmbeddedPostgres.builder()
                    .setDataDirectory(Files.createTempDirectory("acs-seed-pg-"))
                    .setCleanDataDirectory(true)
                    .start();
            try (Connection c = seeded.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
                st.execute(read("/seed/seed-schema.sql"));
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot prepare the seed-shaped database", e);
        }
        Properties p = new Properties();
        p.setProperty("agentconfig.db.url", seeded.getJdbcUrl("postgres", "postgres"));
        p.setProperty("agentconfig.db.user", "postgres");
        return p;
    }

    @AfterAll
    void stopSeeded() throws IOException {
        if (seeded != null) {
            seeded.close();
        }
    }

    static String read(String resource) throws IOException {
        try (InputStream in = SeedShapedMigrationTest.class.getResourceAsStream(resource)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void migrationsApplyAndKeepTheSeedRows() {
        assertThat(query("SELECT version FROM agentconfig.flyway_schema_history WHERE success AND version IS NOT NULL ORDER BY installed_rank"))
                .extracting(r -> r.get("version")).containsExactly("1", "2", "3", "4", "5", "6", "7", "8");
        // V7: a save's audit row is found by its saveId among the user's rows (receipts)
        assertThat(query("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'audit_log'"))
                .extracting(r -> r.get("indexname")).contains("audit_log_save_idx");
        assertThat(query("SELECT count(*) AS n FROM public.user_profiles").get(0).get("n")).isEqualTo(2L);
        assertThat(query("SELECT display_name FROM public.user_profiles WHERE user_id = ?", SEED_USER).get(0)
                .get("display_name")).isEqualTo("Seed User");
        assertThat(query("SELECT theme FROM public.user_settings WHERE user_id = ?", SEED_USER).get(0).get("theme"))
                .isEqualTo("dark");
        // the columns the service needs were added, the existing ones kept
        assertThat(query("SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                + "AND table_name = 'user_settings'")).extracting(r -> r.get("column_name"))
                .contains("id", "theme", "field_versions", "api_key_updated_at", "encrypted_api_keys");
        // the seed's missing conflict target for user_settings now exists
        assertThat(query("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'user_settings' "
                + "AND indexdef LIKE 'CREATE UNIQUE INDEX%(user_id, tenant_id)%'")).hasSize(1);
    }

    @Test
    void theSeedsInsecureFunctionIsGoneAndTheNewOneIsLockedDown() {
        assertThat(query("SELECT count(*) AS n FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                + "WHERE n.nspname = 'public' AND p.proname = 'update_user_api_keys' AND p.pronargs = 4").get(0).get("n"))
                .isEqualTo(0L);
        var fn = query("SELECT p.prosecdef, array_to_string(p.proconfig, ',') AS config FROM pg_proc p "
                + "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
                + "AND p.proname = 'update_user_api_keys' AND p.pronargs = 5").get(0);
        assertThat(fn.get("prosecdef")).isEqualTo(true);
        assertThat((String) fn.get("config")).isEqualTo("search_path=\"\"");
        String sig = "public.update_user_api_keys(uuid, text, jsonb, jsonb, jsonb)";
        assertThat(query("SELECT has_function_privilege('anon', '" + sig + "', 'EXECUTE') AS ok").get(0).get("ok"))
                .isEqualTo(false);
        assertThat(query("SELECT has_function_privilege('plain_role', '" + sig + "', 'EXECUTE') AS ok").get(0).get("ok"))
                .isEqualTo(false);
        assertThat(query("SELECT has_function_privilege('authenticated', '" + sig + "', 'EXECUTE') AS ok").get(0).get("ok"))
                .isEqualTo(true);
    }

    @Test
    void anEndUserCannotChangeAnotherUsersSettingsThroughTheFunction() throws Exception {
        UUID victim = UUID.randomUUID();
        try (Connection c = dataSource().getConnection(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.execute("SELECT set_config('request.jwt.claims', '{\"role\":\"authenticated\",\"sub\":\"" + UUID.randomUUID()
                    + "\"}', true)");
            assertThatThrownBy(() -> st.execute("SELECT public.update_user_api_keys('" + victim
                    + "', 'acme', '{}', '{}', '{}')"))
                    .hasMessageContaining("another user");
            c.rollback();
            st.execute("SELECT set_config('request.jwt.claims', '{\"role\":\"authenticated\",\"sub\":\"" + victim
                    + "\"}', true)");
            st.execute("SELECT public.update_user_api_keys('" + victim + "', 'acme', '{\"call_agent_id\":\"mine\"}', "
                    + "'{}', '{\"callAgentId\": 5}')");
            c.commit();
        }
        assertThat(settingsRow(victim)).isPresent();
    }

    @Test
    void rowLevelSecurityIsOnAndWithoutAuthUidTheEndUserRolesGetNothing() {
        assertThat(query("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT c.relrowsecurity")).isEmpty();
        // anon and authenticated exist here, Supabase's auth.uid() does not: no policy, no privilege
        assertThat(query("SELECT count(*) AS n FROM pg_policies WHERE schemaname = 'public'").get(0).get("n")).isEqualTo(0L);
        assertThat(query("SELECT r, has_table_privilege(r, 'public.user_settings', 'SELECT') AS s, "
                + "has_schema_privilege(r, 'agentconfig', 'USAGE') AS u FROM unnest(ARRAY['anon', 'authenticated', "
                + "'plain_role']) AS r WHERE has_table_privilege(r, 'public.user_settings', 'SELECT') "
                + "OR has_schema_privilege(r, 'agentconfig', 'USAGE')")).isEmpty();
    }

    @Test
    void runningTheMigrationsAgainChangesNothing() throws Exception {
        String before = dumpDatabase();
        try (Connection c = dataSource().getConnection(); Statement st = c.createStatement()) {
            st.execute(read("/db/migration/V1__agent_config_schema.sql"));
            st.execute(read("/db/migration/V2__field_guards_and_settings_rpc.sql"));
            st.execute(read("/db/migration/V3__settings_rpc_reports_legacy_key.sql"));
            st.execute(read("/db/migration/V4__row_level_security_and_version_checks.sql"));
            st.execute(read("/db/migration/V6__save_idempotency_keys.sql"));
            st.execute(read("/db/migration/V7__receipts_and_field_history.sql"));
            st.execute(read("/db/migration/V8__last_writer_wins_once.sql"));
        }
        assertThat(dumpDatabase()).isEqualTo(before);
    }

    @Test
    void aSeedUserSavesWithoutThe409AndKeepsTheRestOfTheRow() {
        var r = put("acme", SEED_USER, "{\"callAgentId\":\"agent_after_migration\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        var row = profileRow(SEED_USER).orElseThrow();
        assertThat(row.get("display_name")).isEqualTo("Seed User");
        JsonNode config = json((String) row.get("encrypted_agent_config"));
        assertThat(config.get("call_agent_id").asText()).isEqualTo("agent_after_migration");
        assertThat(query("SELECT count(*) AS n FROM public.user_settings WHERE user_id = ?", SEED_USER).get(0).get("n"))
                .isEqualTo(1L);
    }

    @Test
    void aSeedUserOfAnotherTenantIsStillOneTenantsUser() {
        var r = put("other-tenant", SEED_USER_2, "{\"callAgentId\":\"x\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
    }
}
