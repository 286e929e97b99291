package dev.agentconfig.postgrest;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.agentconfig.core.Changes;
import dev.agentconfig.core.Failures;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.core.Origin;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.crypto.Keyring;
import dev.agentconfig.json.Json;
import dev.agentconfig.store.LocalStore;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Key rotation over the rest transport: the same functions of migration V5, called through PostgREST's
 * RPC ({@code POST /rest/v1/rpc/<name>}, named arguments). PostgREST cannot run here: the stub hands
 * those three calls to a stand-in that does what PostgREST does with them on a real, Supabase-shaped
 * PostgreSQL (log in as authenticator, {@code SET LOCAL ROLE service_role}, the JWT claims in
 * {@code request.jwt.claims}, one transaction per request; a jsonb result as it is, a table as a JSON
 * array of objects). The service migrated that database over its direct connection, as its owner.
 */
class RestKeyRotationTest extends RestTransportTestSupport {
    private static final String OWNER = "app_owner";
    private static final String RPC_NAMES = "/rest/v1/rpc/(retell_key_usage|retell_keys_to_reseal|reseal_retell_keys)";

    // assigned in restProperties (superclass constructor): no initializers
    private EmbeddedPostgres pg;
    private HttpServer postgrestRpc;
    private byte[] oldKey;

    @Override
    protected Properties restProperties() {
        try {
            pg = EmbeddedPostgres.builder().setDataDirectory(Files.createTempDirectory("acs-rest-rotation-"))
                    .setCleanDataDirectory(true).start();
            try (Connection c = pg.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
                try (InputStream shape = getClass().getResourceAsStream("/supabase/supabase-shape.sql")) {
                    st.execute(new String(shape.readAllBytes(), StandardCharsets.UTF_8));
                }
            }
            postgrestRpc = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            postgrestRpc.createContext("/rest/v1/rpc/", this::rpc);
            postgrestRpc.start();
        } catch (IOException | SQLException e) {
            throw new IllegalStateException(e);
        }
        proxyRpcToPostgres();
        oldKey = randomBytes(32);
        Properties p = new Properties();
        p.setProperty("agentconfig.db.url", pg.getJdbcUrl(OWNER, "postgres"));
        p.setProperty("agentconfig.db.user", OWNER);
        p.setProperty("agentconfig.encryption.keys", Base64.getEncoder().encodeToString(oldKey));
        p.setProperty("agentconfig.encryption.active-key", Keyring.keyIdOf(encryptionKey));
        p.setProperty("agentconfig.keys.rotation.batch-size", "7");
        // counting both tables is one request: more room than a save's
        p.setProperty("agentconfig.supabase.timeout", "10000ms");
        return p;
    }

    @BeforeEach
    void proxyRpcToPostgres() {
        stub.stubFor(post(urlPathMatching(RPC_NAMES)).atPriority(1)
                .willReturn(aResponse().proxiedFrom("http://127.0.0.1:" + postgrestRpc.getAddress().getPort())));
    }

    @AfterAll
    void stopPostgres() throws IOException {
        if (postgrestRpc != null) {
            postgrestRpc.stop(0);
        }
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void everyValueIsReSealedThroughPostgrestAndNoPlaintextTravelsBack() throws Exception {
        FieldCipher old = new FieldCipher(oldKey);
        String oldId = Keyring.keyIdOf(oldKey);
        String newId = Keyring.keyIdOf(encryptionKey);
        String tenant = newTenant();
        long v = HybridLogicalClock.micros(Instant.now().minusSeconds(600));
        Map<UUID, String> keys = new HashMap<>();
        for (int i = 0; i < 30; i++) {
            UUID user = newUser();
            String key = newKey();
            keys.put(user, key);
            String envelope = old.seal(key, tenant + ":" + user + ":retellApiKey");
            owner("INSERT INTO public.user_profiles (user_id, tenant_id, encrypted_retell_api_key, field_versions) "
                    + "VALUES ('" + user + "', '" + tenant + "', '" + envelope + "', '{\"retellApiKey\":" + (v + i) + "}')");
            owner("SELECT public.update_user_api_keys('" + user + "', '" + tenant + "', '{}', "
                    + "'{\"retell_api_key\":\"" + envelope + "\"}', '{\"retellApiKey\":" + (v + i) + "}')");
        }
        UUID legacy = newUser();
        String legacyKey = newKey();
        keys.put(legacy, legacyKey);
        owner("INSERT INTO public.user_settings (user_id, tenant_id, retell_config, field_versions) VALUES ('" + legacy
                + "', '" + tenant + "', '{\"call_agent_id\":\"c_legacy\"}', '{}')");
        owner("ALTER TABLE public.user_settings DISABLE TRIGGER user_settings_guard");
        owner("UPDATE public.user_settings SET retell_config = retell_config || '{\"api_key\":\"" + legacyKey
                + "\"}' WHERE user_id = '" + legacy + "'");
        owner("ALTER TABLE public.user_settings ENABLE TRIGGER user_settings_guard");
        UUID pending = newUser();
        String pendingKey = newKey();
        LocalStore store = context.getRegistry().lookupByNameAndType("localStore", LocalStore.class);
        store.park(SealedSave.of(UserKey.of(tenant, pending.toString()), UUID.randomUUID(), v,
                Changes.of(Map.of(Field.RETELL_API_KEY, old.seal(pendingKey, tenant + ":" + pending + ":retellApiKey"))),
                Origin.HTTP, true), Map.of(Target.USER_PROFILES, Failures.ofSqlState("08006", "connection lost")));

        // the key check at start ran through PostgREST too (once the routes ran)
        assertThat(logs.text()).contains("Keys at start: 0 sealed values, all with the active key " + newId);
        // what each key seals, counted through PostgREST
        JsonNode before = json(checked(adminGet("/api/v1/admin/keys")));
        assertThat(before.get("keys").get(oldId).get("values").toString())
                .isEqualTo("{\"user_profiles\":30,\"user_settings\":30,\"local_store\":1}");
        assertThat(before.get("legacyPlaintext").asLong()).isEqualTo(1);

        HttpResponse<String> started = checked(send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/v1/admin/keys/rotate"))
                .header("Authorization", "Bearer " + serviceToken).POST(HttpRequest.BodyPublishers.noBody())));
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        JsonNode rotation = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> json(adminGet("/api/v1/admin/keys")).get("rotation"),
                        r -> !r.get("state").asText().equals("running"));
        System.out.println("FIGURE rest rotation: " + rotation);
        assertThat(rotation.get("state").asText()).as(rotation.toString()).isEqualTo("finished");
        assertThat(rotation.get("resealed").asLong()).isEqualTo(30 + 30 + 1 + 1);
        assertThat(rotation.get("legacySealed").asLong()).isEqualTo(1);

        // the tables: every value under the new key, same plaintext, same version; the plaintext gone
        FieldCipher newOnly = new FieldCipher(encryptionKey);
        for (Map.Entry<UUID, String> e : keys.entrySet()) {
            for (String column : List.of("p.encrypted_retell_api_key", "s.encrypted_api_keys ->> 'retell_api_key'")) {
                String envelope = ownerValue("SELECT " + column + " FROM public.user_profiles p JOIN public.user_settings s "
                        + "USING (user_id) WHERE user_id = '" + e.getKey() + "'");
                assertThat(envelope).startsWith("v1:" + newId + ":");
                assertThat(newOnly.open(envelope, tenant + ":" + e.getKey() + ":retellApiKey").equals(e.getValue())).isTrue();
            }
        }
        assertThat(ownerValue("SELECT count(*) FROM public.user_settings WHERE retell_config ->> 'api_key' IS NOT NULL"))
                .isEqualTo("0");
        assertThat(ownerValue("SELECT min((field_versions ->> 'retellApiKey')::bigint) FROM public.user_profiles "
                + "WHERE tenant_id = '" + tenant + "' AND user_id <> '" + legacy + "'")).isEqualTo(String.valueOf(v));
        // the local entry too
        String local = store.read(UserKey.of(tenant, pending.toString())).orElseThrow().fields().get("retellApiKey").value();
        assertThat(newOnly.open(local, tenant + ":" + pending + ":retellApiKey").equals(pendingKey)).isTrue();

        // on the wire: PostgREST's RPC with the service's headers; the legacy key went back as its SHA-256 only
        List<LoggedRequest> reseals = sent(postRequestedFor(urlPathEqualTo("/rest/v1/rpc/reseal_retell_keys")));
        assertThat(reseals).isNotEmpty();
        for (LoggedRequest r : reseals) {
            assertWriteHeaders(r);
            assertThat(r.getBodyAsString()).doesNotContain(KEY_PREFIX);
        }
        assertThat(reseals.stream().map(LoggedRequest::getBodyAsString).filter(b -> b.contains("legacy_sha256")).count())
                .isEqualTo(1);
        JsonNode after = json(adminGet("/api/v1/admin/keys"));
        assertThat(after.get("keys").get(oldId).get("total").asLong()).isZero();
        assertThat(after.get("keys").get(oldId).get("retirable").asBoolean()).isTrue();
    }

    private HttpResponse<String> adminGet(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).header("Authorization", "Bearer " + serviceToken));
    }

    private Connection ownerConnection;
    private Connection authenticator;

    private synchronized void owner(String sql) throws SQLException {
        if (ownerConnection == null) {
            ownerConnection = pg.getDatabase(OWNER, "postgres").getConnection();
        }
        try (Statement st = ownerConnection.createStatement()) {
            st.execute(sql);
        }
    }

    private synchronized String ownerValue(String sql) throws SQLException {
        if (ownerConnection == null) {
            ownerConnection = pg.getDatabase(OWNER, "postgres").getConnection();
        }
        try (Statement st = ownerConnection.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    // ----- PostgREST's RPC, as PostgREST does it ----------------------------------------------------

    private synchronized void rpc(HttpExchange exchange) throws IOException {
        String name = exchange.getRequestURI().getPath().substring("/rest/v1/rpc/".length());
        JsonNode args;
        try (InputStream in = exchange.getRequestBody()) {
            args = Json.tree(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        int status = 200;
        String body;
        try {
            if (authenticator == null) {
                authenticator = pg.getDatabase("authenticator", "postgres").getConnection();
            }
            Connection c = authenticator;
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SET LOCAL ROLE service_role");
                st.execute("SELECT set_config('request.jwt.claims', '{\"role\":\"service_role\"}', true)");
            }
            String sql = switch (name) {
                case "retell_key_usage" -> "SELECT public.retell_key_usage()::text";
                case "retell_keys_to_reseal" -> "SELECT coalesce(json_agg(t), '[]')::text FROM "
                        + "public.retell_keys_to_reseal(p_active_key_id => ?, p_after => CAST(? AS uuid), p_limit => ?) t";
                case "reseal_retell_keys" -> "SELECT public.reseal_retell_keys(p_items => CAST(? AS jsonb))::text";
                default -> throw new IllegalArgumentException(name);
            };
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                if (name.equals("retell_keys_to_reseal")) {
                    ps.setString(1, args.get("p_active_key_id").asText());
                    ps.setString(2, args.get("p_after").isNull() ? null : args.get("p_after").asText());
                    ps.setInt(3, args.get("p_limit").asInt());
                } else if (name.equals("reseal_retell_keys")) {
                    ps.setString(1, args.get("p_items").toString());
                }
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    body = rs.getString(1);
                }
            }
            c.commit();
        } catch (SQLException | RuntimeException e) {
            try {
                authenticator.rollback();
            } catch (SQLException | RuntimeException ignored) {
                // reported below
            }
            System.out.println("RPC stand-in: " + name + " failed: " + e);
            status = 400;
            ObjectNode error = Json.MAPPER.createObjectNode();
            error.put("code", e instanceof SQLException sql ? sql.getSQLState() : "XX000");
            error.put("message", e.getMessage());
            error.putNull("details");
            error.putNull("hint");
            body = error.toString();
        }
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", JSON_UTF8);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
