package dev.agentconfig.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

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
import dev.agentconfig.rotation.KeyRotation;
import dev.agentconfig.rotation.RotationStatus;
import dev.agentconfig.store.LocalStore;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * Key rotation throughput (docs/benchmarks.md): durable values re-sealed per second, jdbc transport, embedded
 * PostgreSQL 17 (synchronous_commit on), the local store on the same disk (fsync per entry). Values are
 * planted as the old key sealed them, then one rotation runs to its end (its counts at start and end
 * included). Run: {@code mvn -B -Pbench verify -Dtest=RotationBenchmark}.
 */
class RotationBenchmark extends ServiceTestSupport {
    private static final int USERS = Integer.getInteger("bench.rotation.users", 20_000);
    private static final int ENTRIES = Integer.getInteger("bench.rotation.entries", 2_000);
    // assigned in extraProperties (superclass constructor): no initializers
    private byte[] oldKey;

    @Override
    protected Properties extraProperties() {
        oldKey = randomBytes(32);
        Properties p = new Properties();
        p.setProperty("agentconfig.encryption.keys", Base64.getEncoder().encodeToString(oldKey));
        p.setProperty("agentconfig.encryption.active-key", Keyring.keyIdOf(encryptionKey));
        p.setProperty("agentconfig.keys.rotation.batch-size", System.getProperty("bench.rotation.batch", "200"));
        return p;
    }

    @Test
    void valuesReSealedPerSecond() throws Exception {
        KeyRotation rotation = context.getRegistry().lookupByNameAndType("keyRotation", KeyRotation.class);
        FieldCipher old = new FieldCipher(oldKey);
        String tenant = newTenant();

        // the tables: USERS users, the key in both (2 values each)
        long v = HybridLogicalClock.micros(Instant.now().minusSeconds(3600));
        try (Connection c = dataSource().getConnection();
             PreparedStatement profiles = c.prepareStatement("INSERT INTO public.user_profiles (user_id, tenant_id, "
                     + "encrypted_retell_api_key, field_versions) VALUES (CAST(? AS uuid), ?, ?, CAST(? AS jsonb))");
             PreparedStatement settings = c.prepareStatement("INSERT INTO public.user_settings (user_id, tenant_id, "
                     + "encrypted_api_keys, field_versions) VALUES (CAST(? AS uuid), ?, CAST(? AS jsonb), CAST(? AS jsonb))")) {
            for (int i = 0; i < USERS; i++) {
                UUID user = newUser();
                String envelope = old.seal(newKey(), Field.RETELL_API_KEY.associatedData(tenant, user));
                String versions = "{\"retellApiKey\":" + (v + i) + "}";
                profiles.setString(1, user.toString());
                profiles.setString(2, tenant);
                profiles.setString(3, envelope);
                profiles.setString(4, versions);
                profiles.addBatch();
                settings.setString(1, user.toString());
                settings.setString(2, tenant);
                settings.setString(3, "{\"retell_api_key\":\"" + envelope + "\"}");
                settings.setString(4, versions);
                settings.addBatch();
                if (i % 1000 == 999) {
                    profiles.executeBatch();
                    settings.executeBatch();
                }
            }
            profiles.executeBatch();
            settings.executeBatch();
        }
        execute("VACUUM ANALYZE public.user_profiles");
        execute("VACUUM ANALYZE public.user_settings");
        RotationStatus tables = rotation.runToCompletion();
        assertThat(tables.state()).isEqualTo(RotationStatus.FINISHED);
        assertThat(tables.resealed()).isEqualTo(2L * USERS);
        System.out.println("FIGURE key rotation, tables (jdbc, batches of " + System.getProperty("bench.rotation.batch", "200")
                + " users): " + tables.resealed() + " values in "
                + (tables.finishedAt().toEpochMilli() - tables.startedAt().toEpochMilli()) + " ms = "
                + Math.round(tables.ratePerSecond()) + " values/s");

        // the local store: ENTRIES pending entries, one durable write each
        LocalStore store = context.getRegistry().lookupByNameAndType("localStore", LocalStore.class);
        for (int i = 0; i < ENTRIES; i++) {
            UUID user = newUser();
            store.park(SealedSave.of(UserKey.of(tenant, user.toString()), UUID.randomUUID(), v + i,
                    Changes.of(Map.of(Field.RETELL_API_KEY, old.seal(newKey(), Field.RETELL_API_KEY.associatedData(tenant, user)))),
                    Origin.HTTP, true), Map.of(Target.USER_PROFILES, Failures.ofSqlState("08006", "connection lost")));
        }
        RotationStatus local = rotation.runToCompletion();
        assertThat(local.state()).isEqualTo(RotationStatus.FINISHED);
        assertThat(local.resealed()).isEqualTo(ENTRIES);
        System.out.println("FIGURE key rotation, local store (fsync per entry): " + local.resealed() + " entries in "
                + (local.finishedAt().toEpochMilli() - local.startedAt().toEpochMilli()) + " ms = "
                + Math.round(local.ratePerSecond()) + " entries/s");
    }
}
