package dev.agentconfig.read;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentconfig.api.PathIdentity;
import dev.agentconfig.json.Json;
import dev.agentconfig.core.PendingEntry;
import dev.agentconfig.testing.ServiceTestSupport;
import org.apache.camel.Exchange;

/**
 * Helpers for the read tests: rows and local entries placed exactly as a test needs them
 * (through the tables' own triggers, and as real files), and the read asked through the route
 * or over HTTP.
 */
abstract class ReadTestSupport extends ServiceTestSupport {

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        // the read gives up on a location after 700 ms (the statement timeout here is 1.5 s)
        p.setProperty("agentconfig.read.timeout", "700");
        // entries placed by a test stay where they are while it reads them (no scheduled drain)
        p.setProperty("agentconfig.sync.interval", "60m");
        return p;
    }

    /** A version like the service's own: microseconds since the epoch. */
    protected static long versionAt(Instant at) {
        return at.getEpochSecond() * 1_000_000L + at.getNano() / 1_000L;
    }

    protected String seal(String tenant, UUID user, String plaintext) {
        return cipher().seal(plaintext, tenant + ":" + user + ":retellApiKey");
    }

    protected void update(String sql, Object... args) {
        try (Connection c = dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException(e.getSQLState() + " " + e.getClass().getSimpleName());
        }
    }

    /** A user_profiles row as a writer (this service, or the seed) left it. */
    protected void insertProfile(String tenant, UUID user, String keyEnvelope, String agentConfigJson,
                                 String fieldVersionsJson) {
        update("INSERT INTO public.user_profiles (user_id, tenant_id, encrypted_retell_api_key, encrypted_agent_config,"
                        + " field_versions, updated_at) VALUES (?, ?, ?, CAST(? AS jsonb), CAST(? AS jsonb), now())",
                user, tenant, keyEnvelope, agentConfigJson, fieldVersionsJson);
    }

    /** A user_settings row as a writer (this service, or the seed) left it. */
    protected void insertSettings(String tenant, UUID user, String retellConfigJson, String encryptedKeysJson,
                                  String fieldVersionsJson) {
        update("INSERT INTO public.user_settings (user_id, tenant_id, retell_config, encrypted_api_keys, field_versions,"
                        + " updated_at) VALUES (?, ?, CAST(? AS jsonb), CAST(? AS jsonb), CAST(? AS jsonb), now())",
                user, tenant, retellConfigJson, encryptedKeysJson, fieldVersionsJson);
    }

    /** A local-store entry, written as the service writes it: one JSON file per tenant/user. */
    protected void writeLocalEntry(String tenant, UUID user, Map<String, PendingEntry.FieldEntry> fields,
                                   List<String> pendingTargets, String state) {
        Instant now = Instant.now();
        PendingEntry entry = new PendingEntry(1, tenant, user.toString(), new TreeMap<>(fields), pendingTargets, state,
                new PendingEntry.ErrorInfo("transient", "08001", "connection refused", pendingTargets.get(0),
                        now.toString()),
                1, now.plusSeconds(30).toString(), now.toString(), now.toString(), 1);
        Path file = localFile(tenant, user);
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, Json.writeBytes(entry));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    protected static PendingEntry.FieldEntry local(String value, long version) {
        return new PendingEntry.FieldEntry(value, version, UUID.randomUUID().toString());
    }

    /** The read through direct:read: the answer as JSON (exceptions are returned, not thrown). */
    protected JsonNode read(String tenant, UUID user) {
        Exchange ex = template.request("direct:read",
                e -> e.getMessage().setBody(dev.agentconfig.core.UserKey.of(tenant, user.toString())));
        if (ex.getException() != null) {
            throw new AssertionError("read failed: " + ex.getException());
        }
        var result = ex.getMessage().getBody(dev.agentconfig.read.ReadResult.class);
        if (!result.found()) {
            throw new AssertionError("read found nothing for " + tenant + "/" + user);
        }
        return Json.tree(Json.write(dev.agentconfig.read.ReadView.of(result,
                context.getRegistry().lookupByNameAndType("keyReader", dev.agentconfig.read.KeyReader.class))));
    }

    protected HttpResponse<String> get(String path, String token) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl() + path)).GET();
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return send(b);
    }

    protected HttpResponse<String> getConfig(String tenant, UUID user) {
        return get("/api/v1/agent-config/" + tenant + "/" + user, serviceToken);
    }

    protected HttpResponse<String> diagnostics(String tenant, UUID user) {
        return get("/api/v1/agent-config/" + tenant + "/" + user + "/diagnostics", serviceToken);
    }

    protected static JsonNode check(JsonNode report, String id) {
        for (JsonNode c : report.get("checks")) {
            if (c.get("id").asText().equals(id)) {
                return c;
            }
        }
        throw new AssertionError("no check " + id + " in " + report.get("checks"));
    }
}
