package dev.agentconfig.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import javax.sql.DataSource;

/**
 * Is everything the save path needs present? Tables, columns, the settings function (and its
 * security), the guard triggers, and the unique constraints behind both ON CONFLICT clauses:
 * their absence is exactly the seed's two bugs, so they are named as such.
 */
public final class SchemaCheck {
    /** The tables and columns the service needs (the rest transport checks them through PostgREST too). */
    public static final Map<String, List<String>> COLUMNS = Map.of(
            "user_profiles", List.of("user_id", "tenant_id", "encrypted_retell_api_key", "encrypted_agent_config",
                    "field_versions", "updated_at"),
            "user_settings", List.of("user_id", "tenant_id", "retell_config", "encrypted_api_keys", "field_versions",
                    "api_key_updated_at", "updated_at"),
            "audit_log", List.of("id", "at", "event", "tenant_id", "user_id", "success", "details"));

    private final DataSource dataSource;

    public SchemaCheck(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Every missing object, named for a person; empty when the schema is complete. */
    public List<String> missing() throws SQLException {
        List<String> missing = new ArrayList<>();
        try (Connection c = dataSource.getConnection()) {
            Map<String, Set<String>> present = new LinkedHashMap<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT table_name, column_name FROM information_schema.columns "
                    + "WHERE table_schema = 'public' AND table_name IN ('user_profiles', 'user_settings', 'audit_log')");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    present.computeIfAbsent(rs.getString(1), k -> new TreeSet<>()).add(rs.getString(2));
                }
            }
            for (String table : List.of("user_profiles", "user_settings", "audit_log")) {
                Set<String> cols = present.get(table);
                if (cols == null) {
                    missing.add("table public." + table);
                    continue;
                }
                for (String col : COLUMNS.get(table)) {
                    if (!cols.contains(col)) {
                        missing.add("column public." + table + "." + col
                                + (col.equals("api_key_updated_at") ? " (the seed's PGRST204 column)" : ""));
                    }
                }
            }
            if (present.containsKey("user_profiles") && !uniqueOn(c, "user_profiles", "{user_id}")) {
                missing.add("unique constraint on public.user_profiles(user_id): the upsert's ON CONFLICT target "
                        + "(the seed's 409 / 23505 bug)");
            }
            if (present.containsKey("user_settings") && !uniqueOn(c, "user_settings", "{tenant_id,user_id}")) {
                missing.add("unique constraint on public.user_settings(user_id, tenant_id): the settings function's "
                        + "ON CONFLICT target");
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT p.prosecdef, array_to_string(p.proconfig, ',') "
                    + "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
                    + "AND p.proname = 'update_user_api_keys' "
                    + "AND pg_get_function_identity_arguments(p.oid) = "
                    + "'p_user_id uuid, p_tenant_id text, p_retell_config jsonb, p_encrypted_api_keys jsonb, p_field_versions jsonb'");
                 ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    missing.add("function public.update_user_api_keys(uuid, text, jsonb, jsonb, jsonb)");
                } else if (!rs.getBoolean(1) || !"search_path=\"\"".equals(rs.getString(2))) {
                    missing.add("function public.update_user_api_keys must be SECURITY DEFINER with search_path ''");
                }
            }
            for (String trigger : List.of("user_profiles_guard", "user_settings_guard")) {
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT 1 FROM pg_trigger WHERE tgname = ? AND NOT tgisinternal")) {
                    ps.setString(1, trigger);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            missing.add("trigger " + trigger + " (per-field versions and tenant guard)");
                        }
                    }
                }
            }
        }
        return missing;
    }

    private static boolean uniqueOn(Connection c, String table, String sortedColumns) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_index i WHERE i.indrelid = ('public.' || ?)::regclass "
                + "AND i.indisunique AND i.indpred IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname) "
                + "FROM unnest(i.indkey) k JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k)::text = ?")) {
            ps.setString(1, table);
            ps.setString(2, sortedColumns);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }
}
