package dev.agentconfig.db;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** A statement kept in {@code src/main/resources/sql/}, next to nothing but its own comments. */
final class SqlFile {
    private SqlFile() {
    }

    static String load(String name) {
        try (InputStream in = SqlFile.class.getClassLoader().getResourceAsStream("sql/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing statement sql/" + name);
            }
            StringBuilder sql = new StringBuilder();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.strip().startsWith("--")) {
                    sql.append(line).append('\n');
                }
            }
            return sql.toString().strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
