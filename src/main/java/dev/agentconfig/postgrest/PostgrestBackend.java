package dev.agentconfig.postgrest;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import dev.agentconfig.transport.Backend;
import dev.agentconfig.db.Database;
import dev.agentconfig.core.Failure;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.observe.CheckResult;
import dev.agentconfig.db.SchemaCheck;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rest transport's database: Supabase's PostgREST, and optionally a direct SQL connection
 * (agentconfig.db.url) used only for migrations and NOTIFY pgrst.
 *
 * <p>Health: {@code postgrest} (a one-row probe of user_profiles with the service's key: the key
 * is accepted and PostgREST reaches its database), {@code schema} (every table and column the
 * service needs, selected through PostgREST with {@code limit=0}, plus whatever a save or read
 * was told is missing, by name), and {@code directDatabase} when one is configured. The settings
 * function cannot be probed without calling it: a missing one is named after the first save.
 */
public final class PostgrestBackend implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(PostgrestBackend.class);
    static final PostgrestRequest PROBE = PostgrestRequest.get("/user_profiles", "select=user_id&limit=0", false);

    private final String url;
    private final PostgrestClient client;
    private final SchemaDriftRegister drift;
    private final Database direct;

    /** @param direct the direct database connection, or null */
    public PostgrestBackend(String url, PostgrestClient client, SchemaDriftRegister drift, Database direct) {
        this.url = url;
        this.client = client;
        this.drift = drift;
        this.direct = direct;
    }

    private volatile boolean schemaSeen;

    /**
     * The schema can be written: with a direct database, migrated over it (again, if it was not yet);
     * without, every table and column the service needs is there as PostgREST shows it. Once seen
     * complete it is not asked again (a column dropped later is schema drift, reported by the writes).
     */
    @Override
    public boolean ready() {
        if (schemaSeen) {
            return true;
        }
        if (direct != null && !direct.ensureMigrated()) {
            return false;
        }
        for (Map.Entry<String, List<String>> t : SchemaCheck.COLUMNS.entrySet()) {
            PostgrestClient.Result r = client.call(PostgrestRequest.get("/" + t.getKey(),
                    "select=" + String.join(",", t.getValue()) + "&limit=0", false));
            if (!r.ok()) {
                if (r.failure().failureClass() == FailureClass.SCHEMA_DRIFT) {
                    LOG.debug("Schema not ready through PostgREST: {} {}", r.failure().code(), r.failure().message());
                    return false;
                }
                return true; // unreachable, or the key refused: not a schema question (reachable() answers it)
            }
        }
        schemaSeen = true;
        return true;
    }

    @Override
    public boolean reachable() {
        PostgrestClient.Result r = client.call(PROBE);
        if (!r.ok()) {
            LOG.debug("PostgREST probe failed: {} {}", r.failure().code(), r.failure().message());
        }
        return r.ok();
    }

    /** The probe of the health checks {@code postgrest}, {@code schema} and {@code directDatabase}. */
    public List<CheckResult> healthChecks() {
        List<CheckResult> checks = new ArrayList<>();
        PostgrestClient.Result probe = client.call(PROBE);
        if (probe.ok()) {
            checks.add(CheckResult.up("postgrest", "reachable", Map.of("url", url + "/rest/v1")));
            checks.add(schema());
        } else {
            Failure f = probe.failure();
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("url", url + "/rest/v1");
            data.put("class", f.failureClass().id());
            data.put("code", f.code());
            String detail = dev.agentconfig.core.Failures.credentialsRefused(f)
                    ? "the Supabase key was refused (" + f.code() + ": " + f.message() + "): set AGENTCONFIG_SUPABASE_KEY "
                            + "to the project's service-role key or a secret key"
                    : "unreachable: " + f.code() + ": " + f.message();
            checks.add(CheckResult.down("postgrest", detail, data));
            checks.add(CheckResult.down("schema", "not checked: PostgREST is unreachable", Map.of()));
        }
        if (direct != null) {
            checks.add(directDatabase());
        }
        return checks;
    }

    /** The tables and columns through PostgREST; then what saves and reads were told is missing. */
    private CheckResult schema() {
        List<String> missing = new ArrayList<>();
        List<String> unchecked = new ArrayList<>();
        for (Map.Entry<String, List<String>> t : SchemaCheck.COLUMNS.entrySet()) {
            PostgrestRequest select = PostgrestRequest.get("/" + t.getKey(),
                    "select=" + String.join(",", t.getValue()) + "&limit=0", false);
            PostgrestClient.Result r = client.call(select);
            if (!r.ok()) {
                if (r.failure().failureClass() == FailureClass.SCHEMA_DRIFT) {
                    missing.add(MissingObject.name(r.failure(), select));
                } else {
                    unchecked.add(t.getKey() + " (" + r.failure().code() + ")");
                }
            }
        }
        for (SchemaDriftRegister.Drift d : drift.current()) {
            String described = SchemaDriftRegister.describe(d);
            if (!missing.contains(d.missing())) {
                missing.add(described);
            }
        }
        missing.sort(null);
        if (!missing.isEmpty()) {
            return CheckResult.down("schema", "missing: " + String.join("; ", missing), Map.of("missing", missing));
        }
        if (!unchecked.isEmpty()) {
            return CheckResult.down("schema", "cannot be inspected: " + String.join(", ", unchecked), Map.of());
        }
        return CheckResult.up("schema", "complete as PostgREST shows it (tables and columns; the settings function "
                + "is checked by every save)", Map.of());
    }

    /** Whether the direct database's failure is logged (null while it answers): once per outage. */
    private final AtomicReference<String> directLogged = new AtomicReference<>();

    private CheckResult directDatabase() {
        try (Connection c = direct.dataSource().getConnection()) {
            if (directLogged.getAndSet(null) != null) {
                LOG.info("Health: the direct database answers again");
            }
            return c.isValid(2)
                    ? CheckResult.up("directDatabase", "reachable (migrations, NOTIFY pgrst)", Map.of())
                    : CheckResult.down("directDatabase", "connection not valid: schema-cache reloads cannot be sent",
                            Map.of());
        } catch (Exception e) {
            // health is open: the driver's message (host, port, user) goes to the log only
            // once per outage (docs/operations.md): every probe of it used to log it again
            if (directLogged.getAndSet("unreachable") == null) {
                LOG.warn("Health: the direct database is unreachable: {}", e.getMessage());
            }
            return CheckResult.down("directDatabase", "unreachable: schema-cache reloads cannot be sent (see the "
                    + "service log)", Map.of());
        }
    }
}
