package dev.agentconfig.rotation;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import dev.agentconfig.core.Field;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.transport.SealedKeys.Reseal;
import dev.agentconfig.transport.SealedKeys.SealedKeyRow;

/**
 * One batch of rows turned into what to write: each distinct envelope under another key re-sealed with
 * the active key (once per user and tenant, whichever tables hold it), each legacy plaintext key sealed
 * (identified to the database by its SHA-256, so the plaintext is not sent back). A value that cannot be
 * opened is not written: it is reported, with the reason (which names a missing key's id).
 */
record ResealPlan(List<Reseal> items, List<Unopenable> unopenable) {

    /** A value that could not be re-sealed, and why (never the value). */
    record Unopenable(String table, String tenantId, UUID userId, String reason) {
    }

    static ResealPlan of(List<SealedKeyRow> rows, FieldCipher cipher) {
        Map<String, Reseal> items = new LinkedHashMap<>();
        List<Unopenable> unopenable = new ArrayList<>();
        for (SealedKeyRow row : rows) {
            String aad = Field.RETELL_API_KEY.associatedData(row.tenantId(), row.userId());
            String envelope = row.value();
            if (envelope != null && FieldCipher.keyIdOf(envelope).isPresent() && !cipher.sealedWithActiveKey(envelope)) {
                String key = row.userId() + "/" + row.tenantId() + "/" + envelope;
                if (!items.containsKey(key)) {
                    try {
                        items.put(key, new Reseal(row.userId(), row.tenantId(), envelope, null,
                                cipher.reseal(envelope, aad)));
                    } catch (FieldCipher.EnvelopeException e) {
                        unopenable.add(new Unopenable(row.table().table(), row.tenantId(), row.userId(), e.getMessage()));
                    }
                }
            }
            String legacy = row.legacyPlaintext();
            if (legacy != null && !legacy.isEmpty()) {
                items.put(row.userId() + "/" + row.tenantId() + "/legacy",
                        new Reseal(row.userId(), row.tenantId(), null, sha256(legacy), cipher.seal(legacy, aad)));
            }
        }
        return new ResealPlan(List.copyOf(items.values()), List.copyOf(unopenable));
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
