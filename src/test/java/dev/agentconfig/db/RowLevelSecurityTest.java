package dev.agentconfig.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import javax.sql.DataSource;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.testing.ServiceTestSupport;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Row-level security and privileges on a database shaped like a Supabase project, acting as
 * PostgREST does: log in as {@code authenticator}, {@code SET LOCAL ROLE} to the request's role,
 * put the JWT claims into {@code request.jwt.claims}, one transaction per request.
 *
 * <p>Two databases, both with Supabase's roles, {@code auth.uid()} and default privileges (ALL on
 * every new table, sequence and function in public for anon, authenticated and service_role):
 * <ul>
 *   <li>{@code seeded}: the seed's tables (created before the service, so they carry those grants)
 *       with V1–V3 pasted by hand, an invalid version planted, and a permissive "read for all
 *       users" policy as Supabase's template creates it; the service runs on it as the table owner
 *       and migrates it at start (Flyway baselines at 0 and applies V1–V4 again);</li>
 *   <li>{@code fresh}: nothing but the Supabase shape; the tables come from the migrations,
 *       run with the service's Flyway configuration.</li>
 * </ul>
 * The owner ({@code app_owner}, Supabase's "postgres") is neither superuser nor BYPASSRLS: it
 * reads and writes only because it owns the tables and row-level security is not forced.
 */
class RowLevelSecurityTest extends ServiceTestSupport {
    static final String OWNER = "app_owner";
    /** A user whose row held invalid versions before V4 (written directly, as V1–V3 allowed). */
    static final UUID PLANTED = UUID.fromString("0b0b0b0b-1111-4222-8333-444444444444");

    private EmbeddedPostgres seeded;
    private EmbeddedPostgres fresh;

    @Override
    protected Properties extraProperties() {
        try {
            seeded = start("acs-rls-seeded-");
            try (Connection c = seeded.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
                st.execute(SeedShapedMigrationTest.read("/supabase/supabase-shape.sql"));
                // the seed's objects, created by the owner (so Supabase's default privileges apply)
                st.execute("SET ROLE " + OWNER);
                st.execute(SeedShapedMigrationTest.read("/seed/seed-schema.sql").replaceAll("(?m)^CREATE ROLE .*$", ""));
                // the migrations pasted into the SQL editor by hand, which keeps no history
                for (String v : List.of("V1__agent_config_schema", "V2__field_guards_and_settings_rpc",
                        "V3__settings_rpc_reports_legacy_key")) {
                    st.execute(SeedShapedMigrationTest.read("/db/migration/" + v + ".sql"));
                }
                // a direct writer planted versions that are not integers (V1–V3 stored them as they came)
                st.execute("INSERT INTO public.user_profiles (user_id, tenant_id, encrypted_agent_config, field_versions) "
                        + "VALUES ('" + PLANTED + "', 'acme', '{\"call_agent_id\":\"planted\",\"sms_agent_id\":\"kept\"}', "
                        + "'{\"callAgentId\":\"abc\",\"smsAgentId\":7}')");
                st.execute("INSERT INTO public.user_settings (user_id, tenant_id, retell_config, field_versions) "
                        + "VALUES ('" + PLANTED + "', 'acme', '{\"call_agent_id\":\"planted\"}', '\"junk\"')");
                // Supabase's policy template, created while row-level security was still off
                st.execute("CREATE POLICY \"Enable read access for all users\" ON public.user_profiles FOR SELECT USING (true)");
                st.execute("CREATE POLICY \"Enable read access for all users\" ON public.user_settings FOR SELECT USING (true)");
                st.execute("RESET ROLE");
            }

            fresh = start("acs-rls-fresh-");
            try (Connection c = fresh.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
                st.execute(SeedShapedMigrationTest.read("/supabase/supabase-shape.sql"));
            }
            Database.flyway(fresh.getDatabase(OWNER, "postgres")).migrate();
        } catch (Exception e) {
            throw new IllegalStateException("cannot prepare the Supabase-shaped databases", e);
        }
        Properties p = new Properties();
        p.setProperty("agentconfig.db.url", seeded.getJdbcUrl(OWNER, "postgres"));
        p.setProperty("agentconfig.db.user", OWNER);
        return p;
    }

    private static EmbeddedPostgres start(String prefix) throws IOException {
        return EmbeddedPostgres.builder()
                .setDataDirectory(Files.createTempDirectory(prefix))
                .setCleanDataDirectory(true)
                .start();
    }

    @AfterAll
    void stopDatabases() throws IOException {
        if (seeded != null) {
            seeded.close();
        }
        if (fresh != null) {
            fresh.close();
        }
    }

    private EmbeddedPostgres db(String name) {
        return switch (name) {
            case "seeded" -> seeded;
            case "fresh" -> fresh;
            default -> throw new IllegalArgumentException(name);
        };
    }

    // ----- acting as PostgREST ---------------------------------------------------------------------

    /** What one statement did: its SQLSTATE and message when refused, else the rows it returned or changed. */
    record Outcome(String sqlState, String message, List<String> rows, int updated) {
        boolean refused() {
            return sqlState != null;
        }

        @Override
        public String toString() {
            return refused() ? sqlState + " " + message : "rows=" + rows + " updated=" + updated;
        }
    }

    /**
     * One request as PostgREST makes it: authenticator logs in, switches to {@code role} for one
     * transaction with the claims set; the transaction commits when the statement succeeded (so
     * a write that should not have been allowed would stay and be seen).
     */
    static Outcome asRole(EmbeddedPostgres db, String role, UUID sub, String sql) {
        String claims = sub == null ? "{\"role\":\"" + role + "\"}"
                : "{\"sub\":\"" + sub + "\",\"role\":\"" + role + "\"}";
        try (Connection c = db.getDatabase("authenticator", "postgres").getConnection()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SET LOCAL ROLE " + role);
                st.execute("SELECT set_config('request.jwt.claims', '" + claims + "', true)");
                Outcome o = run(st, sql);
                if (o.refused()) {
                    c.rollback();
                } else {
                    c.commit();
                }
                return o;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static Outcome run(Statement st, String sql) {
        try {
            List<String> rows = new ArrayList<>();
            int updated = 0;
            if (st.execute(sql)) {
                try (ResultSet rs = st.getResultSet()) {
                    while (rs.next()) {
                        rows.add(rs.getString(1));
                    }
                }
            } else {
                updated = st.getUpdateCount();
            }
            return new Outcome(null, null, rows, updated);
        } catch (SQLException e) {
            return new Outcome(e.getSQLState(), firstLine(e.getMessage()), List.of(), 0);
        }
    }

    static String firstLine(String m) {
        String s = m == null ? "" : m;
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).replace("ERROR: ", "").strip();
    }

    static List<Map<String, String>> rows(DataSource ds, String sql, Object... args) {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            List<Map<String, String>> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Map<String, String> row = new java.util.LinkedHashMap<>();
                    for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                        row.put(rs.getMetaData().getColumnLabel(i), rs.getString(i));
                    }
                    out.add(row);
                }
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static Outcome asOwner(EmbeddedPostgres db, String sql) {
        try (Connection c = db.getDatabase(OWNER, "postgres").getConnection(); Statement st = c.createStatement()) {
            return run(st, sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Every row of user_profiles and user_settings, read by the owner (audit_log is left out: the
     * service writes it in the background; forged audit rows are looked for by their event).
     */
    static String contents(EmbeddedPostgres db) {
        StringBuilder sb = new StringBuilder();
        for (String t : List.of("user_profiles", "user_settings")) {
            sb.append("-- ").append(t).append('\n');
            rows(db.getDatabase(OWNER, "postgres"), "SELECT x::text AS r FROM public." + t + " x ORDER BY 1")
                    .forEach(r -> sb.append(r.get("r")).append('\n'));
        }
        return sb.toString();
    }

    /** Two users of tenant acme with a row in both tables: through the service (seeded) or written by the owner (fresh). */
    private UUID[] twoUsers(String dbName) {
        UUID a = newUser();
        UUID b = newUser();
        for (UUID u : new UUID[] {a, b}) {
            if (dbName.equals("seeded")) {
                HttpResponse<String> r = put("acme", u, "{\"callAgentId\":\"call_" + u + "\",\"smsAgentId\":\"sms_" + u + "\"}");
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            } else {
                assertThat(asOwner(fresh, "INSERT INTO public.user_profiles (user_id, tenant_id, encrypted_agent_config, "
                        + "field_versions) VALUES ('" + u + "', 'acme', '{\"call_agent_id\":\"call_" + u + "\"}', "
                        + "'{\"callAgentId\":100}')").refused()).isFalse();
                assertThat(asOwner(fresh, "SELECT public.update_user_api_keys('" + u + "', 'acme', "
                        + "'{\"call_agent_id\":\"call_" + u + "\"}', '{}', '{\"callAgentId\":100}')").refused()).isFalse();
            }
        }
        return new UUID[] {a, b};
    }

    // ----- row-level security ---------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"seeded", "fresh"})
    void theAdvisorFindsNoPublicTableWithoutRowLevelSecurity(String dbName) {
        DataSource owner = db(dbName).getDatabase(OWNER, "postgres");
        // Supabase's rls_disabled_in_public lint
        assertThat(rows(owner, "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT c.relrowsecurity")).isEmpty();
        // on, not forced: the owner (the jdbc transport, the settings function) bypasses it
        assertThat(rows(owner, "SELECT relname, relrowsecurity::text AS rls, relforcerowsecurity::text AS forced, "
                + "pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid IN ('public.user_profiles'::regclass, "
                + "'public.user_settings'::regclass, 'public.audit_log'::regclass) ORDER BY relname"))
                .containsExactly(
                        Map.of("relname", "audit_log", "rls", "true", "forced", "false", "owner", OWNER),
                        Map.of("relname", "user_profiles", "rls", "true", "forced", "false", "owner", OWNER),
                        Map.of("relname", "user_settings", "rls", "true", "forced", "false", "owner", OWNER));
        // ... and the owner is an ordinary role: it is not superuser and has no BYPASSRLS
        assertThat(rows(owner, "SELECT rolsuper::text AS su, rolbypassrls::text AS bypass FROM pg_roles WHERE rolname = ?", OWNER))
                .containsExactly(Map.of("su", "false", "bypass", "false"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"seeded", "fresh"})
    void anonSeesNothingAndChangesNothing(String dbName) {
        EmbeddedPostgres db = db(dbName);
        UUID[] users = twoUsers(dbName);
        UUID a = users[0];
        String before = contents(db);

        // Supabase's default privileges gave anon ALL on these tables; V4 revoked them, so every
        // statement stops at the privilege check (42501), before row-level security is consulted
        for (String table : List.of("user_profiles", "user_settings", "audit_log")) {
            assertThat(asRole(db, "anon", null, "SELECT user_id::text FROM public." + table))
                    .as("anon SELECT " + table).extracting(Outcome::sqlState, Outcome::message)
                    .containsExactly("42501", "permission denied for table " + table);
            assertThat(asRole(db, "anon", null, "UPDATE public." + table + " SET tenant_id = 'evil'"))
                    .as("anon UPDATE " + table).extracting(Outcome::sqlState).isEqualTo("42501");
            assertThat(asRole(db, "anon", null, "DELETE FROM public." + table))
                    .as("anon DELETE " + table).extracting(Outcome::sqlState).isEqualTo("42501");
            assertThat(asRole(db, "anon", null, "TRUNCATE public." + table))
                    .as("anon TRUNCATE " + table).extracting(Outcome::sqlState).isEqualTo("42501");
        }
        assertThat(asRole(db, "anon", null, "INSERT INTO public.user_profiles (user_id, tenant_id) VALUES ('"
                + newUser() + "', 'evil')").sqlState()).isEqualTo("42501");
        assertThat(asRole(db, "anon", null, "INSERT INTO public.user_settings (user_id, tenant_id) VALUES ('"
                + a + "', 'acme')").sqlState()).isEqualTo("42501");
        assertThat(asRole(db, "anon", null, "INSERT INTO public.audit_log (event, success) VALUES ('forged', true)")
                .sqlState()).isEqualTo("42501");
        assertThat(asRole(db, "anon", null, "SELECT nextval(pg_get_serial_sequence('public.audit_log', 'id'))::text")
                .message()).startsWith("permission denied for sequence audit_log_id_seq");
        // the settings function (V2 revoked EXECUTE from anon) and the guards' internals (V4)
        assertThat(asRole(db, "anon", null, "SELECT public.update_user_api_keys('" + a + "', 'acme', '{}', '{}', '{}')::text"))
                .extracting(Outcome::sqlState, Outcome::message)
                .containsExactly("42501", "permission denied for function update_user_api_keys");
        assertThat(asRole(db, "anon", null, "SELECT agentconfig.is_newer('{}', '{}', 'x')::text"))
                .extracting(Outcome::sqlState, Outcome::message)
                .containsExactly("42501", "permission denied for schema agentconfig");

        assertThat(contents(db)).isEqualTo(before);
        assertThat(forgedAuditRows(db)).isZero();
    }

    /** V6: the Idempotency-Keys are the service's alone; no end user reads, writes or asks them. */
    @ParameterizedTest
    @ValueSource(strings = {"seeded", "fresh"})
    void endUsersCannotReachTheIdempotencyKeys(String dbName) {
        EmbeddedPostgres db = db(dbName);
        UUID b = twoUsers(dbName)[1];
        String before = contents(db);
        assertThat(rows(db.getDatabase(OWNER, "postgres"), "SELECT relrowsecurity::text AS rls, "
                + "relforcerowsecurity::text AS forced FROM pg_class WHERE oid = 'public.save_idempotency_keys'::regclass"))
                .containsExactly(Map.of("rls", "true", "forced", "false"));
        for (UUID who : new UUID[] {null, b}) {
            String role = who == null ? "anon" : "authenticated";
            for (String sql : List.of("SELECT idempotency_key FROM public.save_idempotency_keys",
                    "INSERT INTO public.save_idempotency_keys VALUES ('" + b + "', 'acme', 'k', 'f', '" + b + "', 1, now())",
                    "DELETE FROM public.save_idempotency_keys",
                    "SELECT public.save_idempotency_find('acme', '" + b + "', 'k', now())::text",
                    "SELECT public.save_idempotency_record('acme', '" + b + "', 'k', 'f', '" + b + "', 1, now(), now(), 1)::text")) {
                assertThat(asRole(db, role, who, sql)).as(role + ": " + sql).extracting(Outcome::sqlState).isEqualTo("42501");
            }
        }
        assertThat(contents(db)).isEqualTo(before);
    }

    static long forgedAuditRows(EmbeddedPostgres db) {
        return Long.parseLong(rows(db.getDatabase(OWNER, "postgres"),
                "SELECT count(*) AS n FROM public.audit_log WHERE event = 'forged'").get(0).get("n"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"seeded", "fresh"})
    void anAuthenticatedUserReadsOnlyTheirOwnRowsAndWritesNothing(String dbName) {
        EmbeddedPostgres db = db(dbName);
        UUID[] users = twoUsers(dbName);
        UUID a = users[0];
        UUID b = users[1];
        String before = contents(db);

        // B reads B's row in both tables and nothing else, even with the seeded "read access
        // for all users" policy (the restrictive own-rows policy is ANDed with it)
        for (String table : List.of("user_profiles", "user_settings")) {
            assertThat(asRole(db, "authenticated", b, "SELECT user_id::text FROM public." + table).rows())
                    .as("B reads " + table).containsExactly(b.toString());
            assertThat(asRole(db, "authenticated", b, "SELECT user_id::text FROM public." + table
                    + " WHERE user_id = '" + a + "'").rows()).as("B asks for A's row in " + table).isEmpty();
            // no INSERT/UPDATE/DELETE/TRUNCATE privilege: refused before any policy is looked at
            assertThat(asRole(db, "authenticated", b, "UPDATE public." + table + " SET tenant_id = 'evil' WHERE user_id = '" + a + "'"))
                    .as("B updates A in " + table).extracting(Outcome::sqlState, Outcome::message)
                    .containsExactly("42501", "permission denied for table " + table);
            assertThat(asRole(db, "authenticated", b, "UPDATE public." + table + " SET tenant_id = 'evil' WHERE user_id = '" + b + "'"))
                    .as("B updates B in " + table).extracting(Outcome::sqlState).isEqualTo("42501");
            assertThat(asRole(db, "authenticated", b, "DELETE FROM public." + table + " WHERE user_id = '" + a + "'"))
                    .as("B deletes A in " + table).extracting(Outcome::sqlState, Outcome::message)
                    .containsExactly("42501", "permission denied for table " + table);
            assertThat(asRole(db, "authenticated", b, "TRUNCATE public." + table).sqlState()).isEqualTo("42501");
        }
        assertThat(asRole(db, "authenticated", b, "INSERT INTO public.user_profiles (user_id, tenant_id) VALUES ('"
                + newUser() + "', 'acme')").message()).isEqualTo("permission denied for table user_profiles");
        assertThat(asRole(db, "authenticated", b, "SELECT count(*)::text FROM public.audit_log").message())
                .isEqualTo("permission denied for table audit_log");
        assertThat(asRole(db, "authenticated", b, "INSERT INTO public.audit_log (event, success) VALUES ('forged', true)")
                .sqlState()).isEqualTo("42501");

        assertThat(contents(db)).isEqualTo(before);
        assertThat(forgedAuditRows(db)).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"seeded", "fresh"})
    void policiesAloneStillHoldWhenTablePrivilegesAreGrantedBack(String dbName) throws SQLException {
        // a dashboard "GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated" must not reopen them
        EmbeddedPostgres db = db(dbName);
        UUID[] users = twoUsers(dbName);
        UUID a = users[0];
        UUID b = users[1];
        try (Connection c = db.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.execute("GRANT ALL ON public.user_profiles, public.user_settings TO anon, authenticated");
            st.execute("SET LOCAL ROLE authenticated");
            st.execute("SELECT set_config('request.jwt.claims', '{\"sub\":\"" + b + "\",\"role\":\"authenticated\"}', true)");
            for (String table : List.of("user_profiles", "user_settings")) {
                assertThat(savepoint(st, "SELECT user_id::text FROM public." + table).rows()).containsExactly(b.toString());
                // no permissive UPDATE/DELETE policy: no row is visible to them, nothing changes
                assertThat(savepoint(st, "UPDATE public." + table + " SET tenant_id = tenant_id WHERE user_id = '" + a + "'").updated())
                        .isZero();
                assertThat(savepoint(st, "UPDATE public." + table + " SET tenant_id = tenant_id WHERE user_id = '" + b + "'").updated())
                        .isZero();
                assertThat(savepoint(st, "DELETE FROM public." + table).updated()).isZero();
            }
            // an INSERT reaches the guard trigger first, which runs as the writer: authenticated may
            // not use the guards' functions, so the insert fails there (and would fail the policy after)
            assertThat(savepoint(st, "INSERT INTO public.user_profiles (user_id, tenant_id) VALUES ('" + b + "', 'acme') "
                    + "ON CONFLICT (user_id) DO NOTHING").sqlState()).isEqualTo("42501");
            st.execute("SET LOCAL ROLE anon");
            st.execute("SELECT set_config('request.jwt.claims', '{\"role\":\"anon\"}', true)");
            assertThat(savepoint(st, "SELECT user_id::text FROM public.user_profiles").rows()).isEmpty();
            assertThat(savepoint(st, "SELECT user_id::text FROM public.user_settings").rows()).isEmpty();
            assertThat(savepoint(st, "DELETE FROM public.user_settings").updated()).isZero();
            c.rollback();
        }
        assertThat(rows(db.getDatabase(OWNER, "postgres"),
                "SELECT count(*) AS n FROM public.user_settings WHERE user_id IN (?, ?)", a, b).get(0).get("n")).isEqualTo("2");
    }

    private static Outcome savepoint(Statement st, String sql) throws SQLException {
        st.execute("SAVEPOINT attempt");
        Outcome o = run(st, sql);
        st.execute(o.refused() ? "ROLLBACK TO SAVEPOINT attempt" : "RELEASE SAVEPOINT attempt");
        return o;
    }

    @ParameterizedTest
    @ValueSource(strings = {"seeded", "fresh"})
    void theSettingsFunctionRefusesAnotherUserAndWorksForTheCaller(String dbName) {
        EmbeddedPostgres db = db(dbName);
        UUID[] users = twoUsers(dbName);
        UUID a = users[0];
        UUID b = users[1];
        String aBefore = rows(db.getDatabase(OWNER, "postgres"),
                "SELECT retell_config::text AS c FROM public.user_settings WHERE user_id = ?", a).get(0).get("c");
        long version = Long.MAX_VALUE / 2;

        Outcome forA = asRole(db, "authenticated", b, "SELECT public.update_user_api_keys('" + a + "', 'acme', "
                + "'{\"call_agent_id\":\"hijacked\"}', '{}', '{\"callAgentId\":" + version + "}')::text");
        assertThat(forA).extracting(Outcome::sqlState, Outcome::message)
                .containsExactly("AC403", "not allowed to change the settings of another user");

        // SECURITY DEFINER, owned by the migrating role (the tables' owner): row-level security
        // does not stop its write for the caller's own row
        Outcome forB = asRole(db, "authenticated", b, "SELECT public.update_user_api_keys('" + b + "', 'acme', "
                + "'{\"call_agent_id\":\"mine\"}', '{}', '{\"callAgentId\":" + version + "}')::text");
        assertThat(forB.refused()).as(forB.toString()).isFalse();
        assertThat(json(forB.rows().get(0)).get("field_versions").get("callAgentId").asLong()).isEqualTo(version);

        DataSource owner = db.getDatabase(OWNER, "postgres");
        assertThat(rows(owner, "SELECT retell_config ->> 'call_agent_id' AS c FROM public.user_settings WHERE user_id = ?", b)
                .get(0).get("c")).isEqualTo("mine");
        assertThat(rows(owner, "SELECT retell_config::text AS c FROM public.user_settings WHERE user_id = ?", a)
                .get(0).get("c")).isEqualTo(aBefore);
        // and B reads the result back through the own-row policy
        assertThat(asRole(db, "authenticated", b, "SELECT retell_config ->> 'call_agent_id' FROM public.user_settings").rows())
                .containsExactly("mine");
    }

    @ParameterizedTest
    @ValueSource(strings = {"seeded", "fresh"})
    void theServiceRoleReadsAndWritesEverythingAndTheGuardsStillApply(String dbName) {
        EmbeddedPostgres db = db(dbName);
        UUID[] users = twoUsers(dbName);
        UUID a = users[0];
        UUID b = users[1];
        UUID c = newUser();

        assertThat(asRole(db, "service_role", null, "SELECT user_id::text FROM public.user_profiles").rows())
                .contains(a.toString(), b.toString());
        assertThat(asRole(db, "service_role", null, "SELECT user_id::text FROM public.user_settings").rows())
                .contains(a.toString(), b.toString());
        // the rest transport's upsert (POST /user_profiles?on_conflict=user_id, merge-duplicates)
        String upsert = "INSERT INTO public.user_profiles (user_id, tenant_id, encrypted_agent_config, field_versions) "
                + "VALUES ('%s', 'acme', '{\"call_agent_id\":\"%s\"}', '{\"callAgentId\":%d}') ON CONFLICT (user_id) DO UPDATE SET "
                + "encrypted_agent_config = EXCLUDED.encrypted_agent_config, field_versions = EXCLUDED.field_versions "
                + "RETURNING encrypted_agent_config ->> 'call_agent_id'";
        assertThat(asRole(db, "service_role", null, upsert.formatted(c, "svc_1", 10L)).rows()).containsExactly("svc_1");
        assertThat(asRole(db, "service_role", null, upsert.formatted(a, "svc_a", Long.MAX_VALUE - 1)).rows())
                .containsExactly("svc_a");
        // the guards run for it too: an older version changes nothing, another tenant is refused,
        // a version that is not an integer is refused
        assertThat(asRole(db, "service_role", null, upsert.formatted(c, "older", 5L)).rows()).containsExactly("svc_1");
        assertThat(asRole(db, "service_role", null, "UPDATE public.user_profiles SET tenant_id = 'other' WHERE user_id = '" + c + "'")
                .sqlState()).isEqualTo("AC409");
        assertThat(asRole(db, "service_role", null, "UPDATE public.user_profiles SET field_versions = '{\"callAgentId\":1.5}' "
                + "WHERE user_id = '" + c + "'").sqlState()).isEqualTo("23514");
        // the settings function (PostgREST sends the service key's claims: role service_role)
        assertThat(asRole(db, "service_role", null, "SELECT public.update_user_api_keys('" + c + "', 'acme', "
                + "'{\"call_agent_id\":\"svc_1\"}', '{}', '{\"callAgentId\":10}')::text").refused()).isFalse();
        assertThat(asRole(db, "service_role", null, "INSERT INTO public.audit_log (event, user_id, success) VALUES "
                + "('rls-test', '" + c + "', true)").updated()).isEqualTo(1);
        assertThat(asRole(db, "service_role", null, "SELECT count(*)::text FROM public.audit_log WHERE user_id = '" + c + "'")
                .rows()).containsExactly("1");
        // and it may delete (Supabase's default privileges): why only the service may hold this key
        assertThat(asRole(db, "service_role", null, "DELETE FROM public.user_settings WHERE user_id = '" + c + "'").updated())
                .isEqualTo(1);
        assertThat(asRole(db, "service_role", null, "DELETE FROM public.user_profiles WHERE user_id = '" + c + "'").updated())
                .isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"seeded", "fresh"})
    void theGuardsInternalsAreForTheWritersOnly(String dbName) {
        DataSource owner = db(dbName).getDatabase(OWNER, "postgres");
        String sql = "SELECT r AS role, has_schema_privilege(r, 'agentconfig', 'USAGE')::text AS schema_usage, "
                + "has_function_privilege(r, 'agentconfig.is_newer(jsonb, jsonb, text)', 'EXECUTE')::text AS is_newer, "
                + "has_function_privilege(r, 'agentconfig.valid_field_versions(jsonb)', 'EXECUTE')::text AS valid, "
                + "has_table_privilege(r, 'public.user_settings', 'SELECT')::text AS settings_select, "
                + "has_table_privilege(r, 'public.user_settings', 'INSERT')::text AS settings_insert "
                + "FROM unnest(ARRAY['anon', 'authenticated', 'service_role']) AS r ORDER BY r";
        assertThat(rows(owner, sql)).containsExactly(
                Map.of("role", "anon", "schema_usage", "false", "is_newer", "false", "valid", "false",
                        "settings_select", "false", "settings_insert", "false"),
                Map.of("role", "authenticated", "schema_usage", "false", "is_newer", "false", "valid", "false",
                        "settings_select", "true", "settings_insert", "false"),
                Map.of("role", "service_role", "schema_usage", "true", "is_newer", "true", "valid", "true",
                        "settings_select", "true", "settings_insert", "true"));
    }

    // ----- key rotation (V5) -------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"seeded", "fresh"})
    void theKeyRotationFunctionsAreTheServicesOnly(String dbName) {
        EmbeddedPostgres db = db(dbName);
        UUID a = twoUsers(dbName)[0];
        for (String role : List.of("anon", "authenticated")) {
            UUID sub = role.equals("anon") ? null : a;
            assertThat(asRole(db, role, sub, "SELECT public.retell_key_usage()::text").sqlState())
                    .as(role + " counts keys").isEqualTo("42501");
            assertThat(asRole(db, role, sub, "SELECT count(*)::text FROM public.retell_keys_to_reseal('00000000', NULL, 10)")
                    .sqlState()).as(role + " lists values to re-seal").isEqualTo("42501");
            assertThat(asRole(db, role, sub, "SELECT public.reseal_retell_keys('[]')::text").sqlState())
                    .as(role + " re-seals").isEqualTo("42501");
            assertThat(asRole(db, role, sub, "SELECT agentconfig.reseal_allowed('x')").sqlState())
                    .as(role + " calls the exemption's internals").isEqualTo("42501");
        }
        // PostgREST with the service key: the rest transport's rotation
        assertThat(asRole(db, "service_role", null, "SELECT public.retell_key_usage()::text").refused()).isFalse();
        assertThat(asRole(db, "service_role", null, "SELECT public.reseal_retell_keys('[]')::text").rows())
                .containsExactly("[]");
    }

    // ----- field_versions hold integers -----------------------------------------------------------

    @Test
    void aVersionThatIsNotAnIntegerCannotBeWrittenDirectly() {
        UUID user = newUser();
        HttpResponse<String> saved = put("acme", user, "{\"callAgentId\":\"agent_1\"}");
        assertThat(saved.statusCode()).as(saved.body()).isEqualTo(200);
        String before = contents(seeded);
        for (String bad : List.of("{\"callAgentId\":\"abc\"}", "{\"callAgentId\":1.5}", "{\"callAgentId\":\"5\"}",
                "\"abc\"", "[1]", "{\"smsAgentId\":1.0}", "{\"retellApiKey\":9223372036854775808}", "{\"other\":null}")) {
            UUID other = newUser();
            // a new row (the CHECK constraint), an existing row (the guard, before any CHECK), an upsert, the function
            assertThat(asOwner(seeded, "INSERT INTO public.user_profiles (user_id, tenant_id, field_versions) VALUES ('"
                    + other + "', 'acme', '" + bad + "')").sqlState()).as("insert profile " + bad).isEqualTo("23514");
            assertThat(asOwner(seeded, "INSERT INTO public.user_settings (user_id, tenant_id, field_versions) VALUES ('"
                    + other + "', 'acme', '" + bad + "')").sqlState()).as("insert settings " + bad).isEqualTo("23514");
            assertThat(asOwner(seeded, "UPDATE public.user_profiles SET field_versions = '" + bad + "' WHERE user_id = '"
                    + user + "'").sqlState()).as("update profile " + bad).isEqualTo("23514");
            assertThat(asOwner(seeded, "UPDATE public.user_settings SET field_versions = '" + bad + "' WHERE user_id = '"
                    + user + "'").sqlState()).as("update settings " + bad).isEqualTo("23514");
            assertThat(asOwner(seeded, "INSERT INTO public.user_profiles (user_id, tenant_id, field_versions) VALUES ('"
                    + user + "', 'acme', '" + bad + "') ON CONFLICT (user_id) DO UPDATE SET field_versions = EXCLUDED.field_versions")
                    .sqlState()).as("upsert profile " + bad).isEqualTo("23514");
            assertThat(asOwner(seeded, "SELECT public.update_user_api_keys('" + user + "', 'acme', '{}', '{}', '" + bad + "')::text")
                    .sqlState()).as("settings function " + bad).isEqualTo("23514");
        }
        assertThat(contents(seeded)).isEqualTo(before);
        // integers are fine, up to bigint's end (1e2 is the integer 100)
        assertThat(asOwner(seeded, "UPDATE public.user_settings SET field_versions = "
                + "'{\"smsAgentId\":1e2,\"other\":9223372036854775807}' WHERE user_id = '" + user + "'").refused()).isFalse();
    }

    @Test
    void theVersionCheckAcceptsIntegerLiteralsWithinBigintOnly() {
        Map<String, Boolean> cases = new java.util.LinkedHashMap<>();
        for (String ok : List.of("{}", "{\"callAgentId\":1}", "{\"a\":-2,\"b\":0}", "{\"a\":1e2}", "{\"a.b\":3}",
                "{\"a\":9223372036854775807}", "{\"a\":-9223372036854775808}")) {
            cases.put(ok, true);
        }
        for (String bad : List.of("{\"a\":\"1\"}", "{\"a\":\"abc\"}", "{\"a\":1.5}", "{\"a\":1.0}", "{\"a\":1e-2}",
                "{\"a.b\":1.0}", "{\"a\":9223372036854775808}", "{\"a\":-9223372036854775809}", "{\"a\":null}",
                "{\"a\":true}", "{\"a\":[1]}", "{\"a\":{\"b\":1}}", "\"abc\"", "[1]", "1", "null")) {
            cases.put(bad, false);
        }
        cases.forEach((versions, valid) -> assertThat(query("SELECT agentconfig.valid_field_versions(CAST(? AS jsonb)) AS ok",
                versions).get(0).get("ok")).as(versions).isEqualTo(valid));
    }

    @Test
    void afterABadVersionWasWrittenDirectlyTheUsersSavesStillWork() {
        UUID user = newUser();
        // a direct writer (the owner) tries to plant a version that is not an integer; with V1–V3
        // it was stored, with V4 it is refused (23514)
        Outcome planted = asOwner(seeded, "INSERT INTO public.user_profiles (user_id, tenant_id, field_versions) "
                + "VALUES ('" + user + "', 'acme', '{\"callAgentId\":\"abc\"}')");
        Outcome plantedSettings = asOwner(seeded, "INSERT INTO public.user_settings (user_id, tenant_id, field_versions) "
                + "VALUES ('" + user + "', 'acme', '{\"callAgentId\":1.5}')");

        HttpResponse<String> r = put("acme", user, "{\"callAgentId\":\"agent_after\"}");

        assertThat(r.statusCode()).as("save after the planted version: " + r.body()).isEqualTo(200);
        assertThat(json(r).get("status").asText()).isEqualTo("saved");
        assertThat(planted.sqlState()).as(planted.toString()).isEqualTo("23514");
        assertThat(plantedSettings.sqlState()).as(plantedSettings.toString()).isEqualTo("23514");
        assertThat(json((String) profileRow(user).orElseThrow().get("encrypted_agent_config")).get("call_agent_id").asText())
                .isEqualTo("agent_after");
        assertThat(json((String) settingsRow(user).orElseThrow().get("retell_config")).get("call_agent_id").asText())
                .isEqualTo("agent_after");
    }

    @Test
    void versionsPlantedBeforeTheMigrationAreDroppedAndThatUserSavesAgain() {
        // V4 removed the invalid entries (the valid one and the values stayed) and validated the constraints
        assertThat(json((String) profileRow(PLANTED).orElseThrow().get("field_versions")))
                .isEqualTo(json("{\"smsAgentId\":7}"));
        assertThat(json((String) profileRow(PLANTED).orElseThrow().get("encrypted_agent_config")))
                .isEqualTo(json("{\"call_agent_id\":\"planted\",\"sms_agent_id\":\"kept\"}"));
        assertThat(json((String) settingsRow(PLANTED).orElseThrow().get("field_versions"))).isEqualTo(json("{}"));
        assertThat(query("SELECT conname, convalidated FROM pg_constraint WHERE conname LIKE '%field_versions_valid' ORDER BY 1"))
                .containsExactly(Map.of("conname", "user_profiles_field_versions_valid", "convalidated", true),
                        Map.of("conname", "user_settings_field_versions_valid", "convalidated", true));

        HttpResponse<String> r = put("acme", PLANTED, "{\"callAgentId\":\"agent_fixed\"}");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode config = json((String) profileRow(PLANTED).orElseThrow().get("encrypted_agent_config"));
        assertThat(config.get("call_agent_id").asText()).isEqualTo("agent_fixed");
        assertThat(config.get("sms_agent_id").asText()).isEqualTo("kept");
    }

    // ----- the migrations ---------------------------------------------------------------------------

    @Test
    void theServiceMigratedTheHandPastedDatabaseFromABaseline() {
        assertThat(query("SELECT version, type FROM agentconfig.flyway_schema_history WHERE success ORDER BY installed_rank"))
                .extracting(row -> row.get("version") + "/" + row.get("type"))
                .containsExactly("0/BASELINE", "1/SQL", "2/SQL", "3/SQL", "4/SQL", "5/SQL", "6/SQL", "7/SQL", "8/SQL");
    }

    /** Privileges, policies, constraints, functions and every row: what a migration may change. */
    static String catalog(EmbeddedPostgres db) {
        DataSource owner = db.getDatabase(OWNER, "postgres");
        StringBuilder sb = new StringBuilder(contents(db));
        for (String sql : List.of(
                "SELECT c.relname || ' ' || coalesce(c.relacl::text, '-') || ' rls=' || c.relrowsecurity || ' force='"
                        + " || c.relforcerowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                        + " WHERE n.nspname IN ('public', 'agentconfig') AND c.relkind IN ('r', 'S') ORDER BY 1",
                "SELECT nspname || ' ' || coalesce(nspacl::text, '-') FROM pg_namespace"
                        + " WHERE nspname IN ('public', 'agentconfig') ORDER BY 1",
                "SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '"
                        + " || coalesce(p.proacl::text, '-') || ' ' || md5(p.prosrc) || ' ' || p.prosecdef"
                        + " || ' ' || coalesce(array_to_string(p.proconfig, ','), '-') FROM pg_proc p"
                        + " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname IN ('public', 'agentconfig') ORDER BY 1",
                "SELECT tablename || ' ' || policyname || ' ' || permissive || ' ' || roles::text || ' ' || cmd || ' '"
                        + " || coalesce(qual, '-') || ' ' || coalesce(with_check, '-') FROM pg_policies ORDER BY 1",
                "SELECT conrelid::regclass::text || ' ' || conname || ' ' || convalidated || ' '"
                        + " || pg_get_constraintdef(oid) FROM pg_constraint"
                        + " WHERE conrelid IN ('public.user_profiles'::regclass, 'public.user_settings'::regclass) ORDER BY 1",
                "SELECT tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text FROM pg_trigger"
                        + " WHERE NOT tgisinternal ORDER BY 1")) {
            sb.append("-- ").append(sql, 0, 40).append('\n');
            rows(owner, sql).forEach(r -> sb.append(r.values().iterator().next()).append('\n'));
        }
        return sb.toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"seeded", "fresh"})
    void pastingAllMigrationsAgainChangesNoRowPrivilegeOrPolicy(String dbName) throws Exception {
        EmbeddedPostgres db = db(dbName);
        String before = catalog(db);
        assertThat(before).contains("user_profiles_read_own", "user_settings_end_users_own_rows_no_writes",
                "user_profiles_field_versions_valid");
        try (Connection c = db.getDatabase(OWNER, "postgres").getConnection(); Statement st = c.createStatement()) {
            for (String v : List.of("V1__agent_config_schema", "V2__field_guards_and_settings_rpc",
                    "V3__settings_rpc_reports_legacy_key", "V4__row_level_security_and_version_checks",
                    "V6__save_idempotency_keys", "V7__receipts_and_field_history",
                    "V8__last_writer_wins_once")) {
                st.execute(SeedShapedMigrationTest.read("/db/migration/" + v + ".sql"));
            }
        }
        assertThat(catalog(db)).isEqualTo(before);
    }
}
