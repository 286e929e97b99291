package dev.agentconfig.crypto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;

import dev.agentconfig.config.Settings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the encryption key and the service token come from: the configuration (environment)
 * first; with the embedded database a value generated once into {@code <data-dir>/secrets}
 * (directory 0700, files 0600); with an external database a missing encryption key stops the
 * start, because a generated one would make every stored key unreadable on the next machine.
 */
public final class Secrets {
    private static final Logger LOG = LoggerFactory.getLogger(Secrets.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private Secrets() {
    }

    public static byte[] encryptionKey(Settings settings) {
        Optional<String> configured = settings.encryptionKey();
        if (configured.isPresent()) {
            try {
                return Base64.getDecoder().decode(configured.get());
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("agentconfig.encryption.key is not valid base64");
            }
        }
        if (!settings.embeddedDatabase()) {
            throw new IllegalStateException("agentconfig.encryption.key (AGENTCONFIG_ENCRYPTION_KEY) is required "
                    + "with an external database: set it to the base64 of 32 random bytes, "
                    + "for example the output of `openssl rand -base64 32`");
        }
        Path file = settings.secretsDir().resolve("encryption.key");
        Generated generated = readOrGenerate(file, () -> {
            byte[] key = new byte[32];
            RANDOM.nextBytes(key);
            return Base64.getEncoder().encodeToString(key);
        });
        if (generated.created()) {
            LOG.warn("Generated a development encryption key in {} (mode 0600). Back it up: without it the "
                    + "stored API keys cannot be read. In production set AGENTCONFIG_ENCRYPTION_KEY.", file);
        }
        return Base64.getDecoder().decode(generated.value());
    }

    /** The service token, and whether it was generated (then it is printed once at start). */
    public static Generated serviceToken(Settings settings) {
        if (settings.serviceToken().isPresent()) {
            return new Generated(settings.serviceToken().get(), false, null);
        }
        if (!settings.embeddedDatabase()) {
            throw new IllegalStateException("agentconfig.auth.service-token (AGENTCONFIG_AUTH_SERVICE_TOKEN) is "
                    + "required with an external database");
        }
        Path file = settings.secretsDir().resolve("service-token");
        Generated g = readOrGenerate(file, () -> {
            byte[] token = new byte[32];
            RANDOM.nextBytes(token);
            return "acs_" + Base64.getUrlEncoder().withoutPadding().encodeToString(token);
        });
        return new Generated(g.value(), g.created(), file);
    }

    private static Generated readOrGenerate(Path file, java.util.function.Supplier<String> generator) {
        try {
            Path dir = file.getParent();
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
            }
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            if (Files.exists(file)) {
                return new Generated(Files.readString(file, StandardCharsets.UTF_8).trim(), false, file);
            }
            String value = generator.get();
            Path tmp = dir.resolve(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, value + "\n", StandardCharsets.UTF_8, StandardOpenOption.WRITE);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return new Generated(value, true, file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create " + file, e);
        }
    }

    public record Generated(String value, boolean created, Path file) {
        @Override
        public String toString() {
            return "Generated[file=" + file + ", created=" + created + "]";
        }
    }
}
