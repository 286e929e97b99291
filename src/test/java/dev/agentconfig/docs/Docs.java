package dev.agentconfig.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * README.md and docs/*.md as the docs checks see them: fenced blocks (with the language and the tag of
 * their info string), inline code spans, links and headings, each with its line number, so that a
 * failure can say which doc and which line went stale.
 *
 * <p>How a shell block ({@code sh}, {@code bash}, {@code shell}, {@code console}) is tagged decides who
 * runs it:
 * <ul>
 *   <li>{@code ```sh} — run by {@link DocsCheckIT} against the packaged jar, its {@code #>} lines compared
 *       with what it printed;</li>
 *   <li>{@code ```sh ci} — every command in it is a line of {@code .ci/run};</li>
 *   <li>{@code ```sh no-run: <reason>} — not run here (a Supabase project, minutes of load, a second
 *       service); the reason names the test class that covers it.</li>
 * </ul>
 */
final class Docs {
    /** The repository root: Maven runs the tests there. */
    static final Path ROOT = Path.of("").toAbsolutePath();
    static final Set<String> SHELL = Set.of("sh", "bash", "shell", "console", "zsh");

    private static final Pattern FENCE = Pattern.compile("^ {0,3}```\\s*(.*)$");
    private static final Pattern CODE_SPAN = Pattern.compile("`([^`]+)`");
    private static final Pattern LINK = Pattern.compile("\\[[^\\]]*\\]\\(([^)\\s]+)\\)");
    private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.*?)\\s*#*\\s*$");

    private Docs() {
    }

    /** One markdown file: its name relative to the repository root and its lines. */
    record Doc(String name, List<String> lines) {
        /** "README.md:57" */
        String at(int line) {
            return name + ":" + line;
        }
    }

    enum Disposition { RUN, CI, NO_RUN, INVALID }

    /**
     * A fenced block.
     *
     * @param line      the line of the opening fence (1-based)
     * @param language  the first word of the info string ("" when none)
     * @param tag       the rest of the info string
     * @param body      the lines between the fences
     */
    record Block(Doc doc, int line, String language, String tag, List<String> body) {
        boolean shell() {
            return SHELL.contains(language.toLowerCase(Locale.ROOT));
        }

        Disposition disposition() {
            if (tag.isEmpty()) {
                return Disposition.RUN;
            }
            if (tag.equals("ci")) {
                return Disposition.CI;
            }
            if (tag.startsWith("no-run")) {
                return reason().isEmpty() ? Disposition.INVALID : Disposition.NO_RUN;
            }
            return Disposition.INVALID;
        }

        /** The reason of a no-run block. */
        String reason() {
            String r = tag.substring(Math.min(tag.length(), "no-run".length())).trim();
            return r.startsWith(":") ? r.substring(1).trim() : r;
        }

        /** The line of the body's i-th line (0-based). */
        int lineOf(int i) {
            return line + 1 + i;
        }

        String at() {
            return doc.at(line);
        }
    }

    /** An inline code span outside fenced blocks. */
    record Span(Doc doc, int line, String text) {
        String at() {
            return doc.at(line);
        }
    }

    record Link(Doc doc, int line, String target) {
        String at() {
            return doc.at(line);
        }
    }

    /** README.md first, then docs/*.md by name. */
    static List<Doc> all() {
        List<Doc> docs = new ArrayList<>();
        docs.add(load("README.md"));
        try (Stream<Path> files = Files.list(ROOT.resolve("docs"))) {
            files.filter(p -> p.getFileName().toString().endsWith(".md")).sorted()
                    .forEach(p -> docs.add(load("docs/" + p.getFileName())));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return docs;
    }

    static Doc load(String name) {
        return new Doc(name, read(ROOT.resolve(name)));
    }

    static List<String> read(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(Path file) {
        return String.join("\n", read(file));
    }

    static List<Block> blocks(Doc doc) {
        List<Block> blocks = new ArrayList<>();
        List<String> lines = doc.lines();
        for (int i = 0; i < lines.size(); i++) {
            Matcher open = FENCE.matcher(lines.get(i));
            if (!open.matches()) {
                continue;
            }
            String info = open.group(1).trim();
            int start = i;
            List<String> body = new ArrayList<>();
            i++;
            while (i < lines.size() && !FENCE.matcher(lines.get(i)).matches()) {
                body.add(lines.get(i));
                i++;
            }
            int space = info.indexOf(' ');
            String language = space < 0 ? info : info.substring(0, space);
            String tag = space < 0 ? "" : info.substring(space + 1).trim();
            blocks.add(new Block(doc, start + 1, language, tag, body));
        }
        return blocks;
    }

    /** The lines outside fenced blocks, by line number (1-based). */
    static Map<Integer, String> prose(Doc doc) {
        Map<Integer, String> out = new LinkedHashMap<>();
        boolean inFence = false;
        for (int i = 0; i < doc.lines().size(); i++) {
            String l = doc.lines().get(i);
            if (FENCE.matcher(l).matches()) {
                inFence = !inFence;
                continue;
            }
            if (!inFence) {
                out.put(i + 1, l);
            }
        }
        return out;
    }

    static List<Span> spans(Doc doc) {
        List<Span> spans = new ArrayList<>();
        prose(doc).forEach((line, text) -> {
            Matcher m = CODE_SPAN.matcher(text);
            while (m.find()) {
                spans.add(new Span(doc, line, m.group(1).trim()));
            }
        });
        return spans;
    }

    static List<Link> links(Doc doc) {
        List<Link> links = new ArrayList<>();
        prose(doc).forEach((line, text) -> {
            Matcher m = LINK.matcher(text);
            while (m.find()) {
                links.add(new Link(doc, line, m.group(1)));
            }
        });
        return links;
    }

    /** GitHub's anchors of the doc's headings. */
    static Set<String> anchors(Doc doc) {
        Set<String> anchors = new java.util.HashSet<>();
        prose(doc).values().forEach(text -> {
            Matcher m = HEADING.matcher(text);
            if (m.matches()) {
                anchors.add(slug(m.group(1)));
            }
        });
        return anchors;
    }

    /** GitHub's heading slug: lower case, punctuation dropped, spaces to hyphens. */
    static String slug(String heading) {
        String s = heading.toLowerCase(Locale.ROOT).replace("`", "");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isLetterOrDigit(c) || c == '-' || c == '_') {
                sb.append(c);
            } else if (c == ' ') {
                sb.append('-');
            }
        }
        return sb.toString();
    }

    /** The rows of the markdown tables of a doc: line number -> cells (trimmed, without the outer pipes). */
    static Map<Integer, List<String>> tableRows(Doc doc) {
        Map<Integer, List<String>> rows = new LinkedHashMap<>();
        prose(doc).forEach((line, text) -> {
            String t = text.trim();
            if (t.startsWith("|") && t.endsWith("|") && !t.matches("\\|[\\s|:-]+\\|")) {
                List<String> cells = new ArrayList<>();
                for (String c : t.substring(1, t.length() - 1).split("(?<!\\\\)\\|", -1)) {
                    cells.add(c.trim());
                }
                rows.put(line, cells);
            }
        });
        return rows;
    }

    /** config/application.properties: key -> value, in file order. */
    static Map<String, String> properties() {
        Map<String, String> props = new LinkedHashMap<>();
        for (String l : read(ROOT.resolve("config/application.properties"))) {
            String t = l.trim();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            int eq = t.indexOf('=');
            props.put(t.substring(0, eq).trim(), t.substring(eq + 1).trim());
        }
        return props;
    }

    /** Redacts test API keys from text a failure message repeats. */
    static String redact(String text) {
        return text.replaceAll("key_TESTSECRET_[A-Za-z0-9_]*", "key_<redacted>");
    }
}
