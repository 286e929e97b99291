package dev.agentconfig.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;

import org.junit.jupiter.api.Test;

/**
 * The keyring: several keys by id, exactly one active; sealing with the active key, opening with the
 * key the envelope names; a key that is not there is named, never guessed; every refusal names key ids
 * and settings, never key material.
 */
class KeyringTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String AAD = "acme:5b0e7d1c-8f7a-4c2e-9d1b-0a1b2c3d4e5f:retellApiKey";

    private static byte[] key() {
        byte[] k = new byte[32];
        RANDOM.nextBytes(k);
        return k;
    }

    private static Keyring ring(String active, byte[]... keys) {
        Keyring.Builder b = Keyring.builder();
        for (int i = 0; i < keys.length; i++) {
            b.add(null, keys[i], "key " + i);
        }
        return b.build(Optional.ofNullable(active));
    }

    @Test
    void theActiveKeySealsAndEveryKeyOpensWhatItSealed() {
        byte[] oldKey = key();
        byte[] newKey = key();
        String oldId = Keyring.keyIdOf(oldKey);
        String newId = Keyring.keyIdOf(newKey);
        String sealedByOld = new FieldCipher(oldKey).seal("key_TESTSECRET_old0123", AAD);

        FieldCipher both = new FieldCipher(ring(newId, oldKey, newKey));
        assertThat(both.keyId()).isEqualTo(newId);
        String sealedByNew = both.seal("key_TESTSECRET_new0123", AAD);
        assertThat(sealedByNew).startsWith("v1:" + newId + ":");
        assertThat(FieldCipher.keyIdOf(sealedByOld)).hasValue(oldId);
        assertThat(both.open(sealedByOld, AAD)).isEqualTo("key_TESTSECRET_old0123");
        assertThat(both.open(sealedByNew, AAD)).isEqualTo("key_TESTSECRET_new0123");

        String resealed = both.reseal(sealedByOld, AAD);
        assertThat(resealed).startsWith("v1:" + newId + ":").isNotEqualTo(sealedByOld);
        assertThat(both.sealedWithActiveKey(resealed)).isTrue();
        assertThat(both.sealedWithActiveKey(sealedByOld)).isFalse();
        // the new key alone (the old one retired) opens the re-sealed value
        assertThat(new FieldCipher(newKey).open(resealed, AAD)).isEqualTo("key_TESTSECRET_old0123");
    }

    @Test
    void anEnvelopeWhoseKeyIsNotInTheKeyringNamesThatKey() {
        byte[] gone = key();
        byte[] kept = key();
        String sealed = new FieldCipher(gone).seal("key_TESTSECRET_gone0123", AAD);
        FieldCipher.EnvelopeException e = org.junit.jupiter.api.Assertions.assertThrows(
                FieldCipher.EnvelopeException.class, () -> new FieldCipher(kept).open(sealed, AAD));
        assertThat(e.getMessage()).contains("sealed with another key (" + Keyring.keyIdOf(gone) + ")")
                .contains("not in this service's keyring").contains(Keyring.keyIdOf(kept))
                .doesNotContain("key_TESTSECRET_");
        assertThat(e.missingKeyId()).hasValue(Keyring.keyIdOf(gone));
    }

    @Test
    void exactlyOneKeyIsActive() {
        byte[] a = key();
        byte[] b = key();
        String idA = Keyring.keyIdOf(a);
        String idB = Keyring.keyIdOf(b);
        assertThatThrownBy(() -> ring(idA + "," + idB, a, b)).hasMessageContaining("names 2 keys")
                .hasMessageContaining("exactly one key is active");
        assertThatThrownBy(() -> ring(null, a, b)).hasMessageContaining("holds 2 keys")
                .hasMessageContaining("agentconfig.encryption.active-key");
        String stranger = Keyring.keyIdOf(key());
        assertThatThrownBy(() -> ring(stranger, a, b)).hasMessageContaining("names key " + stranger)
                .hasMessageContaining("not in the keyring");
        assertThatThrownBy(() -> ring("not-a-kid", a)).hasMessageContaining("is not a key id");
        assertThat(ring(null, a).activeKeyId()).isEqualTo(idA);
        assertThat(ring(idB.toUpperCase(), a, b).activeKeyId()).isEqualTo(idB);
    }

    @Test
    void aKeyLabelledWithAnotherKeysIdIsRefusedWithoutShowingTheKey() {
        byte[] a = key();
        byte[] b = key();
        Keyring.Builder ring = Keyring.builder();
        assertThatThrownBy(() -> ring.add(Keyring.keyIdOf(a), b, "agentconfig.encryption.keys (entry 1)"))
                .hasMessageContaining("the key labelled " + Keyring.keyIdOf(a) + " is not that key")
                .hasMessageContaining("its id is " + Keyring.keyIdOf(b))
                .hasMessageNotContaining(Base64.getEncoder().encodeToString(b));
        assertThatThrownBy(() -> ring.add(null, new byte[16], "agentconfig.encryption.keys (entry 2)"))
                .hasMessageContaining("32 bytes");
        // the same key from two sources is one key
        Keyring.Builder twice = Keyring.builder();
        twice.add(null, a, "agentconfig.encryption.key");
        twice.add(Keyring.keyIdOf(a), a.clone(), "agentconfig.encryption.keys (entry 1)");
        assertThat(twice.build(Optional.empty()).keyIds()).containsExactly(Keyring.keyIdOf(a));
    }

    @Test
    void aTamperedKeyIdIsNotEchoed() {
        FieldCipher cipher = new FieldCipher(key());
        assertThatThrownBy(() -> cipher.open("v1:<script>:AAAA:BBBB", AAD)).hasMessage("not a v1 envelope (malformed key id)");
        assertThat(FieldCipher.keyIdOf("v1:<script>:AAAA:BBBB")).isEmpty();
        assertThat(FieldCipher.keyIdOf("key_TESTSECRET_legacy")).isEmpty();
    }
}
