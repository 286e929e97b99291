package dev.agentconfig.crypto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

import dev.agentconfig.config.Settings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the encryption key and the service token come from: the configuration (environment)
 * first; with the embedded database a value generated once into {@code <data-dir>/secrets}
 * (directory 0700, files 0600, written to a temporary file, fsynced, renamed, directory fsynced);
 * with an external database a missing encryption key stops the start, because a generated one
 * would make every stored key unreadable on the next machine. The encryption keys form a
 * {@link Keyring} ({@link #keyring}). The embedded PostgreSQL's
 * superuser password is always generated there ({@link #embeddedDatabasePassword}).
 */
public final class Secrets {
    private static final Logger LOG = LoggerFactory.getLogger(Secrets.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** The file name of the embedded PostgreSQL's password in the secrets directory. */
    public static final String EMBEDDED_DB_PASSWORD = "embedded-db-password";

    private Secrets() {
    }

    /** The file of the key generated in embedded mode. */
    public static final String ENCRYPTION_KEY_FILE = "encryption.key";

    /**
     * The keyring, from every source there is:
     * <ul>
     *   <li>{@code agentconfig.encryption.key}: one key (base64 of 32 bytes), as before keyrings;</li>
     *   <li>{@code agentconfig.encryption.keys}: keys separated by commas, each {@code <keyId>:<base64>}
     *       or just {@code <base64>} (a label is checked against the key's own id);</li>
     *   <li>{@code agentconfig.encryption.key-dir}: a directory of files {@code *.key}, one key (base64)
     *       per file (a secrets volume); a file named {@code <keyId>.key} must hold that key;</li>
     *   <li>with the embedded database and no {@code agentconfig.encryption.key}: the key generated once
     *       into {@code <data-dir>/secrets/encryption.key}, when that file exists.</li>
     * </ul>
     * {@code agentconfig.encryption.active-key} names the key that seals; it may be left out when there is
     * only one. With the embedded database and no key at all, a key is generated, but only held in memory
     * ({@link Keyring#pendingGenerated()}): it is written once the start has checked that no stored value
     * needs another key ({@link #persist}); a missing key file is never silently replaced.
     */
    public static Keyring keyring(Settings settings, Function<String, Optional<String>> property) {
        Keyring.Builder ring = Keyring.builder();
        settings.encryptionKey().ifPresent(k -> ring.add(null, base64(k, "agentconfig.encryption.key"),
                "agentconfig.encryption.key"));
        property.apply("agentconfig.encryption.keys").ifPresent(list -> {
            int n = 0;
            for (String entry : list.split(",")) {
                String e = entry.trim();
                if (e.isEmpty()) {
                    continue;
                }
                n++;
                String where = "agentconfig.encryption.keys (entry " + n + ")";
                int colon = e.indexOf(':');
                String label = colon < 0 ? null : e.substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT);
                if (label != null && !Keyring.KEY_ID.matcher(label).matches()) {
                    throw new IllegalStateException(where + ": write each key as <keyId>:<base64> or <base64>, "
                            + "where the key id is 8 hex characters");
                }
                ring.add(label, base64(colon < 0 ? e : e.substring(colon + 1).trim(), where), where);
            }
        });
        property.apply("agentconfig.encryption.key-dir").ifPresent(dir -> addKeyFiles(ring, Path.of(dir)));
        Path file = settings.secretsDir().resolve(ENCRYPTION_KEY_FILE);
        boolean embeddedFile = settings.embeddedDatabase() && settings.encryptionKey().isEmpty();
        if (embeddedFile && Files.exists(file)) {
            ring.add(null, base64(readKeyFile(file), file.toString()), file.toString());
        }
        if (ring.isEmpty()) {
            if (!settings.embeddedDatabase()) {
                throw new IllegalStateException("agentconfig.encryption.key (AGENTCONFIG_ENCRYPTION_KEY) is required "
                        + "with an external database: set it to the base64 of 32 random bytes, "
                        + "for example the output of `openssl rand -base64 32` (or configure a keyring: "
                        + "agentconfig.encryption.keys, agentconfig.encryption.key-dir)");
            }
            byte[] key = new byte[32];
            RANDOM.nextBytes(key);
            ring.addPending(new PendingKey(file, Base64.getEncoder().encodeToString(key)), key);
        }
        Keyring keyring = ring.build(property.apply("agentconfig.encryption.active-key"));
        if (keyring.pendingGenerated().isEmpty()) {
            LOG.info("Keyring: {}", keyring.describe());
        }
        return keyring;
    }

    /**
     * Writes the key generated in embedded mode (temporary file, fsync, rename, directory fsync), once:
     * called when the start found nothing sealed that it would make unreadable.
     */
    public static void persist(PendingKey key) {
        Generated written = readOrGenerate(key.file(), key::base64);
        if (!written.created() && !written.value().equals(key.base64())) {
            throw new IllegalStateException(key.file() + " appeared while the service was starting: start again");
        }
        LOG.warn("Generated a development encryption key (id {}) in {} (mode 0600). Back it up: without it the "
                + "stored API keys cannot be read. In production set AGENTCONFIG_ENCRYPTION_KEY.",
                Keyring.keyIdOf(Base64.getDecoder().decode(key.base64())), key.file());
    }

    /** A key generated for {@code file}, not written yet. Never printed. */
    public record PendingKey(Path file, String base64) {
        @Override
        public String toString() {
            return "PendingKey[" + file + "]";
        }
    }

    /**
     * The key files ({@code *.key}) of a directory by key id, for a refusal to name the one that holds a
     * needed key (never their contents). Files that are not a key are left out.
     */
    public static Map<String, Path> keyFilesById(Path dir) {
        Map<String, Path> out = new TreeMap<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> keys = Files.newDirectoryStream(dir, "*.key")) {
            for (Path f : keys) {
                try {
                    byte[] key = Base64.getDecoder().decode(Files.readString(f, StandardCharsets.UTF_8).trim());
                    if (key.length == 32) {
                        out.putIfAbsent(Keyring.keyIdOf(key), f);
                    }
                } catch (IOException | IllegalArgumentException e) {
                    // not a key file: nothing to name
                }
            }
        } catch (IOException e) {
            // the refusal says what it can without it
        }
        return out;
    }

    private static void addKeyFiles(Keyring.Builder ring, Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("agentconfig.encryption.key-dir " + dir + " is not a directory");
        }
        java.util.List<Path> files = new java.util.ArrayList<>();
        try (java.nio.file.DirectoryStream<Path> keys = Files.newDirectoryStream(dir, "*.key")) {
            keys.forEach(files::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list agentconfig.encryption.key-dir " + dir, e);
        }
        files.sort(null);
        for (Path f : files) {
            String name = f.getFileName().toString();
            String stem = name.substring(0, name.length() - ".key".length()).toLowerCase(java.util.Locale.ROOT);
            ring.add(Keyring.KEY_ID.matcher(stem).matches() ? stem : null, base64(readKeyFile(f), f.toString()),
                    f.toString());
            try {
                if (!Files.getPosixFilePermissions(f).stream().allMatch(p -> p.name().startsWith("OWNER_"))) {
                    LOG.warn("Key file {} can be read by others than its owner: chmod 600 it", f);
                }
            } catch (IOException | UnsupportedOperationException ignored) {
                // not a POSIX file system: nothing to say
            }
        }
    }

    private static String readKeyFile(Path file) {
        try {
            String value = Files.readString(file, StandardCharsets.UTF_8).trim();
            if (value.isEmpty()) {
                throw new IllegalStateException(file + " is empty: restore it from a backup");
            }
            return value;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the key file " + file, e);
        }
    }

    private static byte[] base64(String value, String where) {
        try {
            return Base64.getDecoder().decode(value.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(where + " is not valid base64");
        }
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
