package dev.agentconfig.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Last-writer-wins is written once per language and everything else calls it: in Java {@link LastWriterWins},
 * in the browser client (src/main/resources/client/agent-config.js) its function {@code replaces}. (SQL:
 * db/LastWriterWinsSqlTest.) A second copy of the rule, a version compared with {@code <} or {@code >} to decide
 * what wins, anywhere else in the sources fails these tests. (That the read's merge decides as the rule does:
 * read/FieldMergeTest.)
 */
class LastWriterWinsOnceTest {
    /** A version (or edit time) right beside a relational operator, on either side. */
    private static final Pattern JAVA_COMPARISON = Pattern.compile(
            "[vV]ersion\\w*(\\(\\))?\\s+(<|>|<=|>=)\\s+(?!0\\b)[\\w.(]"
                    + "|\\s(<|>|<=|>=)\\s+[\\w.]*[vV]ersion\\b"
                    + "|comparingLong\\([^)]*[vV]ersion|Long\\.compare\\([^)]*[vV]ersion");
    private static final Pattern JS_COMPARISON = Pattern.compile(
            "(version|editedAt)\\b(\\(\\))?\\s*(<|>|<=|>=)\\s*[\\w.(]"
                    + "|(<|>|<=|>=)\\s*[\\w.]*\\b(version|editedAt)\\b");

    /** Versions compared for what they are, not for which value wins (each with its reason). */
    private static final Map<String, String> JAVA_ALLOWED = Map.of(
            "core/HybridLogicalClock.java", "the clock itself: the versions it issues follow the newest it has seen");
    private static final Map<String, String> JS_ALLOWED = Map.of(
            "if (!u.since || record.editedAt < u.since) { u.since = record.editedAt; }",
            "the oldest pending edit's time, for the status: not which value wins");

    @Test
    void javaComparesVersionsOnlyInLastWriterWins() throws IOException {
        Path root = Path.of("src/main/java/dev/agentconfig");
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String name = root.relativize(file).toString().replace('\\', '/');
                if (name.equals("core/LastWriterWins.java") || JAVA_ALLOWED.containsKey(name)) {
                    continue;
                }
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                for (int i = 0; i < lines.size(); i++) {
                    String line = lines.get(i).trim();
                    if (!line.startsWith("*") && !line.startsWith("//") && JAVA_COMPARISON.matcher(line).find()) {
                        found.add(name + ":" + (i + 1) + ": " + line);
                    }
                }
            }
        }
        assertThat(found).as("versions compared outside core/LastWriterWins: call LastWriterWins.replaces").isEmpty();
    }

    @Test
    void theBrowserClientComparesVersionsOnlyInReplaces() throws IOException {
        String source = Files.readString(Path.of("src/main/resources/client/agent-config.js"), StandardCharsets.UTF_8);
        int start = source.indexOf("\nfunction replaces(candidate, held) {");
        assertThat(start).as("the client's one rule, function replaces").isPositive();
        int end = source.indexOf("\n}\n", start);
        String rule = source.substring(start, end);
        assertThat(rule).contains("candidate > held");
        String rest = source.substring(0, start) + source.substring(end);
        List<String> found = new ArrayList<>();
        String[] lines = rest.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].trim();
            // arrows and shifts are not comparisons
            String code = line.replace("=>", "  ").replace(">>", "  ").replace("<<", "  ");
            if (!line.startsWith("*") && !line.startsWith("//") && !JS_ALLOWED.containsKey(line)
                    && JS_COMPARISON.matcher(code).find()) {
                found.add(line);
            }
        }
        assertThat(found).as("versions compared outside replaces() in agent-config.js: call replaces").isEmpty();
        assertThat(rest).contains("replaces(");
    }

    /** The scan itself finds a second rule: these lines are what it must refuse. */
    @Test
    void theScansRecogniseASecondRule() {
        assertThat(JAVA_COMPARISON.matcher("if (known.version() < r.version()) {").find()).isTrue();
        assertThat(JAVA_COMPARISON.matcher(".comparingLong(FieldValue::version).reversed()").find()).isTrue();
        assertThat(JAVA_COMPARISON.matcher("return version > 0 ? a : b;").find()).isFalse();
        assertThat(JAVA_COMPARISON.matcher("Map<Field, VersionedValue> values").find()).isFalse();
        assertThat(JS_COMPARISON.matcher("l.editedAt > record.editedAt").find()).isTrue();
        assertThat(JS_COMPARISON.matcher("mine.version > served.version").find()).isTrue();
        assertThat(JS_COMPARISON.matcher("served.version >= version").find()).isTrue();
        assertThat(JS_COMPARISON.matcher("e.version === had.version").find()).isFalse();
    }
}
