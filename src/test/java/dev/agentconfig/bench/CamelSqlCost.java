package dev.agentconfig.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import dev.agentconfig.testing.ServiceTestSupport;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * What Camel's SQL component costs per statement against plain JDBC, for the group commit's profile statement
 * (sql/upsert-profiles-batch.sql: arrays and unnest), in JVM CPU of the calling thread, at groups of 1, 8 and 32
 * saves (on demand: {@code mvn -B -o -Pbench test -Dtest=CamelSqlCost}). The group writer of db/JdbcTargetWrites
 * uses plain JDBC; docs/architecture.md says why with these figures.
 */
class CamelSqlCost extends ServiceTestSupport {
    private static final String SQL_NAMED = """
            INSERT INTO public.user_profiles AS p
                (user_id, tenant_id, encrypted_retell_api_key, encrypted_agent_config, field_versions, updated_at)
            SELECT CAST(r.user_id AS uuid), r.tenant_id, r.api_key, CAST(r.agent_config AS jsonb),
                   CAST(r.field_versions AS jsonb), now()
            FROM unnest(CAST(:#users AS text[]), CAST(:#tenants AS text[]), CAST(:#keys AS text[]),
                        CAST(:#configs AS text[]), CAST(:#versions AS text[]))
                 AS r(user_id, tenant_id, api_key, agent_config, field_versions)
            ON CONFLICT (user_id) DO UPDATE SET
                tenant_id = EXCLUDED.tenant_id,
                encrypted_retell_api_key = EXCLUDED.encrypted_retell_api_key,
                encrypted_agent_config = EXCLUDED.encrypted_agent_config,
                field_versions = EXCLUDED.field_versions,
                updated_at = EXCLUDED.updated_at
            RETURNING CAST(p.user_id AS text) AS user_id, CAST(p.field_versions AS text) AS field_versions""";

    @Test
    void perStatementCpu() throws Exception {
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("direct:camel-sql-group").to("sql:" + SQL_NAMED.replace("\n", " ")
                        + "?dataSource=#dataSource&outputType=SelectList");
            }
        });
        String plain = SQL_NAMED.replaceAll(":#[a-z]+", "?");
        String tenant = newTenant();
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        List<String> rows = new ArrayList<>();
        long version = 1;
        for (int round = 0; round < 2; round++) {
            for (int group : new int[] {1, 8, 32}) {
                int statements = round == 0 ? 300 : 1500; // the first round warms up
                long camelCpu = 0;
                long jdbcCpu = 0;
                for (int s = 0; s < statements; s++) {
                    Map<String, Object> args = args(tenant, group, version++);
                    long t0 = cpu.getCurrentThreadCpuTime();
                    template.requestBody("direct:camel-sql-group", args);
                    long t1 = cpu.getCurrentThreadCpuTime();
                    args = args(tenant, group, version++);
                    try (Connection c = dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(plain)) {
                        int k = 1;
                        for (String name : List.of("users", "tenants", "keys", "configs", "versions")) {
                            ps.setArray(k++, c.createArrayOf("text", (String[]) args.get(name)));
                        }
                        try (ResultSet rs = ps.executeQuery()) {
                            while (rs.next()) {
                                rs.getString(2);
                            }
                        }
                    }
                    long t2 = cpu.getCurrentThreadCpuTime();
                    camelCpu += t1 - t0;
                    jdbcCpu += t2 - t1;
                }
                if (round == 1) {
                    double camel = camelCpu / 1e3 / statements;
                    double jdbc = jdbcCpu / 1e3 / statements;
                    rows.add(String.format("| %d | %.0f | %.0f | %.0f | %.1f |", group, jdbc, camel, camel - jdbc,
                            (camel - jdbc) / group));
                }
            }
        }
        LoggerFactory.getLogger(CamelSqlCost.class).info("Camel's SQL component against plain JDBC, JVM CPU of the "
                + "caller per statement (µs):\n| saves in the statement | plain JDBC | sql: endpoint | added | added per "
                + "save |\n|---|---|---|---|---|\n{}", String.join("\n", rows));
    }

    private static Map<String, Object> args(String tenant, int n, long version) {
        String[] users = new String[n];
        String[] tenants = new String[n];
        String[] keys = new String[n];
        String[] configs = new String[n];
        String[] versions = new String[n];
        for (int i = 0; i < n; i++) {
            users[i] = UUID.randomUUID().toString();
            tenants[i] = tenant;
            configs[i] = "{\"call_agent_id\":\"c" + version + "\"}";
            versions[i] = "{\"callAgentId\":" + version + "}";
        }
        Map<String, Object> m = new HashMap<>();
        m.put("users", users);
        m.put("tenants", tenants);
        m.put("keys", keys);
        m.put("configs", configs);
        m.put("versions", versions);
        return m;
    }
}
