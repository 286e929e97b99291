package dev.agentconfig.crypto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
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
 * (directory 0700, files 0600, written to a temporary file, fsynced, renamed, directory fsynced);
 * with an external database a missing encryption key stops the start, because a generated one
 * would make every stored key unreadable on the next machine. The embedded PostgreSQL's
 * superuser password is always generated there ({@link #embeddedDatabasePassword}).
 */
public final class Secrets {
    private static final Logger LOG = LoggerFactory.getLogger(Secrets.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** The file name of the embedded PostgreSQL's password in the secrets directory. */
    public static final String EMBEDDED_DB_PASSWORD = "embedded-db-password";

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

    /**
     * The embedded PostgreSQL's superuser password, generated once into
     * {@code <secrets-dir>/embedded-db-password}. Nothing else can log in to that server.
     */
    public static Generated embeddedDatabasePassword(Path secretsDir) {
        Path file = secretsDir.resolve(EMBEDDED_DB_PASSWORD);
        return readOrGenerate(file, () -> {
            byte[] password = new byte[32];
            RANDOM.nextBytes(password);
            // URL-safe base64: no quote, backslash or newline, so it goes into SQL and a pwfile as is
            return Base64.getUrlEncoder().withoutPadding().encodeToString(password);
        });
    }

    private static Generated readOrGenerate(Path file, java.util.function.Supplier<String> generator) {
        try {
            Path dir = file.getParent();
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
            }
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            if (Files.exists(file)) {
                String value = Files.readString(file, StandardCharsets.UTF_8).trim();
                if (value.isEmpty()) {
                    throw new IllegalStateException(file + " is empty: restore it from a backup");
                }
                return new Generated(value, false, file);
            }
            String value = generator.get();
            Path tmp = dir.resolve(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            // durable before it is used: a key that data was sealed with, or a password the database
            // was given, must not come back empty or missing after a power loss
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer bytes = ByteBuffer.wrap((value + "\n").getBytes(StandardCharsets.UTF_8));
                while (bytes.hasRemaining()) {
                    ch.write(bytes);
                }
                ch.force(true);
            }
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
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
