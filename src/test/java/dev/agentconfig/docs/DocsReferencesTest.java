package dev.agentconfig.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.agentconfig.docs.Docs.Block;
import dev.agentconfig.docs.Docs.Disposition;
import dev.agentconfig.docs.Docs.Doc;
import org.junit.jupiter.api.Test;

/**
 * What the docs name must exist, and what exists must be in the docs, without running anything:
 * configuration keys (and their defaults), routes, beans, endpoints, classes, methods, metrics,
 * problem types, migrations, links. The shell blocks themselves run in {@link DocsCheckIT}. Every
 * failure names the doc and the line that went stale.
 */
class DocsReferencesTest {
    private static final Path ROOT = Docs.ROOT;
    /**
     * Docs written in parallel (issues 13, 14, 15): linked already, merged later. Remove an entry once
     * the doc is in the tree.
     */
    private static final Set<String> PENDING_DOCS = Set.of();
    /** Names the docs may put in backticks that are not classes of ours. */
    private static final Set<String> NOT_OUR_CLASSES = Set.of("Exchange", "PostgREST", "PostgreSQL", "JavaScript",
            "CryptoKey", "EventTarget", "CreateTime", "LogAppendTime");
    /** An unlabelled fence whose first line starts like this is a shell block that escaped the check. */
    private static final Pattern LOOKS_LIKE_SHELL = Pattern.compile(
            "^(\\$ |curl |mvn |java |export |cat |ls |psql |openssl |pg_ctl |jq |grep |tar |docker |kafka-|[A-Z_]+=).*");

    private static final Pattern KEY = Pattern.compile("(?<![\\w./-])(?:agentconfig|camel)\\.[A-Za-z0-9.-]*[A-Za-z0-9]");
    private static final Pattern ENV = Pattern.compile("\\bAGENTCONFIG_[A-Z0-9_]*[A-Z0-9]\\b");
    private static final Pattern METRIC = Pattern.compile("\\bagentconfig_[a-z0-9_]*[a-z0-9]");
    private static final Pattern ENDPOINT = Pattern.compile("^(?:direct|seda):[a-z0-9-]+$");
    private static final Pattern KEBAB = Pattern.compile("^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$");
    private static final Pattern BEAN_METHOD = Pattern.compile("^([a-z][A-Za-z0-9]*)\\.([a-z][A-Za-z0-9]*)$");
    private static final Pattern PKG_CLASS = Pattern.compile("^([a-z]+)/([A-Z][A-Za-z0-9]*)(?:[#.]([a-z][A-Za-z0-9]*))?$");
    private static final Pattern CLASS_METHOD = Pattern.compile("^([A-Z][A-Za-z0-9]*)#([a-z][A-Za-z0-9]*)$");
    private static final Pattern CAMEL_CASE = Pattern.compile("^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+$");
    private static final Pattern TEST_CLASS = Pattern.compile("\\b[A-Z][A-Za-z0-9]*(?:Test|IT|Suite)\\b");
    private static final Pattern MIGRATION = Pattern.compile("^V\\d+__\\w+\\.sql$");
    private static final Pattern HTTP_OP = Pattern.compile("^(GET|PUT|POST|DELETE|PATCH) (/\\S*)$");

    private final List<Doc> docs = Docs.all();
    private final Map<String, Path> mainClasses = classes("src/main/java");
    private final Map<String, Path> testClasses = classes("src/test/java");
    private final String routes = routesText();

    // ----- the README and CI -------------------------------------------------------------------------

    @Test
    void theReadmeIsADoorNotAManual() {
        Doc readme = doc("README.md");
        assertThat(readme.lines().size()).as("README.md lines: reference material belongs in docs/").isLessThanOrEqualTo(200);
    }

    @Test
    void theReadmeTestCommandIsExactlyWhatCiRuns() {
        List<String> ci = Docs.read(ROOT.resolve(".ci/run")).stream().map(String::trim)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        List<Block> readmeCi = Docs.blocks(doc("README.md")).stream()
                .filter(b -> b.shell() && b.disposition() == Disposition.CI).toList();
        assertThat(readmeCi).as("README.md: the test command, in a ```sh ci block").hasSize(1);
        assertThat(commands(readmeCi.get(0))).as(readmeCi.get(0).at()).containsExactly("mvn -B verify");
        List<String> stale = new ArrayList<>();
        for (Doc d : docs) {
            for (Block b : Docs.blocks(d)) {
                if (b.shell() && b.disposition() == Disposition.CI) {
                    for (String c : commands(b)) {
                        if (!ci.contains(c)) {
                            stale.add(b.at() + ": `" + c + "` is not a line of .ci/run");
                        }
                    }
                }
            }
        }
        assertThat(stale).as("```sh ci blocks").isEmpty();
    }

    @Test
    void everyShellBlockIsRunOrSaysWhichTestCoversIt() {
        List<String> stale = new ArrayList<>();
        for (Doc d : docs) {
            for (Block b : Docs.blocks(d)) {
                if (b.shell()) {
                    switch (b.disposition()) {
                        case INVALID -> stale.add(b.at() + ": unknown fence tag '" + b.tag()
                                + "': use ```sh (run by DocsCheckIT), ```sh ci, or ```sh no-run: <the test that covers it>");
                        case NO_RUN -> {
                            List<String> named = testNames(b.reason());
                            if (named.isEmpty()) {
                                stale.add(b.at() + ": a no-run block must name the test that covers it: " + b.reason());
                            }
                            named.stream().filter(n -> !testClasses.containsKey(n))
                                    .forEach(n -> stale.add(b.at() + ": names " + n + ", which is not a test class"));
                        }
                        default -> {
                        }
                    }
                } else if (b.language().isEmpty()) {
                    String first = b.body().stream().filter(l -> !l.isBlank()).findFirst().orElse("").trim();
                    if (LOOKS_LIKE_SHELL.matcher(first).matches()) {
                        stale.add(b.at() + ": a shell command in an unlabelled block; label it ```sh (or ```sh no-run: …)");
                    }
                }
            }
        }
        assertThat(stale).as("shell blocks").isEmpty();
    }

    // ----- configuration -----------------------------------------------------------------------------

    @Test
    void operationsListsEveryConfigurationKeyWithItsDefault() {
        Map<String, String> props = Docs.properties();
        Doc ops = doc("docs/operations.md");
        Map<String, Integer> listed = new HashMap<>();
        List<String> stale = new ArrayList<>();
        Docs.tableRows(ops).forEach((line, cells) -> {
            Matcher m = Pattern.compile("^`(agentconfig\\.[^`]+)`$").matcher(cells.get(0));
            if (!m.matches() || cells.size() < 3) {
                return;
            }
            String key = m.group(1);
            listed.put(key, line);
            if (!props.containsKey(key)) {
                stale.add(ops.at(line) + ": `" + key + "` is not in config/application.properties");
                return;
            }
            String value = props.get(key);
            String expected = value.isEmpty() ? "empty" : "`" + value + "`";
            if (!cells.get(1).equals(expected)) {
                stale.add(ops.at(line) + ": the default of `" + key + "` is " + expected + ", not " + cells.get(1));
            }
        });
        props.keySet().stream().filter(k -> k.startsWith("agentconfig.") && !listed.containsKey(k))
                .forEach(k -> stale.add("docs/operations.md: no row for `" + k + "` (config/application.properties has it)"));
        assertThat(stale).as("the configuration table").isEmpty();
    }

    @Test
    void everyConfigurationKeyAndVariableNamedInTheDocsExists() {
        Set<String> keys = Docs.properties().keySet();
        // a value of a key (a topic's default name, agentconfig.saves) is a name, not a key; Camel's own
        // component options (camel.component.kafka.*) are Camel's keys, set only when needed
        Set<String> values = new TreeSet<>();
        Docs.properties().values().forEach(v -> values.add(String.valueOf(v).trim()));
        Set<String> variables = new TreeSet<>();
        keys.forEach(k -> variables.add(k.toUpperCase(Locale.ROOT).replaceAll("[.-]", "_")));
        List<String> stale = new ArrayList<>();
        for (Doc d : docs) {
            for (int i = 0; i < d.lines().size(); i++) {
                String l = d.lines().get(i);
                Matcher k = KEY.matcher(l);
                while (k.find()) {
                    String name = k.group();
                    boolean prefix = k.end() < l.length() && l.charAt(k.end()) == '.';
                    boolean known = prefix ? keys.stream().anyMatch(x -> x.startsWith(name + ".")) : keys.contains(name);
                    known |= values.stream().anyMatch(v -> !v.isEmpty() && (name.equals(v) || name.startsWith(v + ".")));
                    known |= name.startsWith("camel.component.");
                    // the events topic's name in the examples (its key's default is empty: no feed)
                    known |= name.equals("agentconfig.events");
                    // a transaction-local setting of migration V5 (set by reseal_retell_keys), not a key
                    known |= name.equals("agentconfig.reseal");
                    if (!known) {
                        stale.add(d.at(i + 1) + ": `" + name + "` is not a key of config/application.properties");
                    }
                }
                Matcher e = ENV.matcher(l);
                while (e.find()) {
                    if (!variables.contains(e.group())) {
                        stale.add(d.at(i + 1) + ": " + e.group() + " overrides no key of config/application.properties");
                    }
                }
            }
        }
        assertThat(stale).as("configuration named in the docs").isEmpty();
    }

    @Test
    void everyConfigurationKeyIsReadByTheCode() {
        String code = text(ROOT.resolve("src/main/java")) + routes;
        List<String> unused = Docs.properties().keySet().stream()
                .filter(k -> k.startsWith("agentconfig.") && !code.contains(k)).toList();
        assertThat(unused).as("keys of config/application.properties that no class or route reads").isEmpty();
    }

    // ----- routes, beans, classes --------------------------------------------------------------------

    @Test
    void everyRouteBeanEndpointAndClassNamedInTheDocsExists() {
        Set<String> routeIds = matches(routes, Pattern.compile("(?m)^\\s*(?:-\\s+)?(?:id|routeId):\\s*\"?([a-z0-9-]+)\"?\\s*$"));
        Set<String> endpoints = matches(routes, Pattern.compile("((?:direct|seda):[a-z0-9-]+)"));
        Set<String> beanMethods = beanMethods();
        List<String> stale = new ArrayList<>();
        for (Doc d : docs) {
            boolean architecture = d.name().equals("docs/architecture.md");
            forEachToken(d, (token, line, context) -> {
                String at = d.at(line);
                if (ENDPOINT.matcher(token).matches() && !endpoints.contains(token)) {
                    stale.add(at + ": " + token + " is no endpoint of routes/");
                }
                if (KEBAB.matcher(token).matches() && (architecture || context.endsWith("route "))
                        && !routeIds.contains(token)) {
                    stale.add(at + ": " + token + " is no route (or routeConfiguration) id in routes/");
                }
                Matcher bm = BEAN_METHOD.matcher(token);
                if (bm.matches() && architecture && !token.startsWith("agentconfig.") && !token.startsWith("camel.")
                        && !beanMethods.contains(token)) {
                    stale.add(at + ": no route calls bean method " + token);
                }
                String missing = missingClassOrMethod(token);
                if (missing != null) {
                    stale.add(at + ": " + missing);
                }
                String path = missingPath(token);
                if (path != null) {
                    stale.add(at + ": " + path);
                }
            });
        }
        assertThat(stale).as("names in the docs").isEmpty();
    }

    /** `pkg/Class`, `pkg/Class#method`, `Class#method`, a class name, a test name, a path. */
    private String missingClassOrMethod(String token) {
        Matcher pc = PKG_CLASS.matcher(token);
        if (pc.matches()) {
            String rel = "dev/agentconfig/" + pc.group(1) + "/" + pc.group(2) + ".java";
            Path file = Files.exists(ROOT.resolve("src/main/java").resolve(rel)) ? ROOT.resolve("src/main/java").resolve(rel)
                    : ROOT.resolve("src/test/java").resolve(rel);
            if (!Files.exists(file)) {
                return token + ": no class dev.agentconfig." + pc.group(1) + "." + pc.group(2);
            }
            return pc.group(3) == null || hasMethod(file, pc.group(3)) ? null
                    : token + ": " + pc.group(2) + " has no method " + pc.group(3);
        }
        Matcher cm = CLASS_METHOD.matcher(token);
        if (cm.matches()) {
            Path file = classFile(cm.group(1));
            if (file == null) {
                return token + ": no class " + cm.group(1);
            }
            return hasMethod(file, cm.group(2)) ? null : token + ": " + cm.group(1) + " has no method " + cm.group(2);
        }
        if (CAMEL_CASE.matcher(token).matches() && !NOT_OUR_CLASSES.contains(token) && classFile(token) == null) {
            return token + ": no class of that name in src/";
        }
        return null;
    }

    private String missingPath(String token) {
        if (token.contains("<") || token.contains("…") || token.contains("{") || token.contains(" ")) {
            return null;
        }
        if (PKG_CLASS.matcher(token).matches()) {
            return null; // a class, checked as one
        }
        if (MIGRATION.matcher(token).matches()) {
            return Files.exists(ROOT.resolve("src/main/resources/db/migration").resolve(token)) ? null
                    : token + ": no such migration";
        }
        if (!(token.startsWith("src/") || token.startsWith("routes/") || token.startsWith("config/")
                || token.startsWith("docs/") || token.startsWith(".ci/"))) {
            return null;
        }
        if (PENDING_DOCS.contains(token)) {
            return null;
        }
        if (token.contains("*")) {
            Path dir = ROOT.resolve(token.substring(0, token.lastIndexOf('/')));
            PathMatcher glob = FileSystems.getDefault().getPathMatcher("glob:" + token.substring(token.lastIndexOf('/') + 1));
            try (Stream<Path> files = Files.isDirectory(dir) ? Files.list(dir) : Stream.empty()) {
                return files.anyMatch(f -> glob.matches(f.getFileName())) ? null : token + ": matches no file";
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return Files.exists(ROOT.resolve(token)) ? null : token + ": no such file or directory";
    }

    // ----- metrics, the API, migrations, links -------------------------------------------------------

    @Test
    void everyMetricNamedInTheDocsIsRegisteredAndOperationsListsThemAll() {
        Set<String> registered = new TreeSet<>();
        Pattern name = Pattern.compile("\"(agentconfig\\.[a-z.]+)\"");
        for (String line : text(ROOT.resolve("src/main/java")).split("\n")) {
            if (line.contains("builder(") || line.contains(".counter(") || line.contains(".timer(") || line.contains(".gauge(")
                    || line.contains("counter(\"agentconfig.") || line.contains("static final String METER_")) {
                Matcher m = name.matcher(line);
                while (m.find()) {
                    registered.add(m.group(1).replace('.', '_'));
                }
            }
        }
        List<String> stale = new ArrayList<>();
        Set<String> inOperations = new TreeSet<>();
        for (Doc d : docs) {
            for (int i = 0; i < d.lines().size(); i++) {
                Matcher m = METRIC.matcher(d.lines().get(i));
                while (m.find()) {
                    String base = metricBase(m.group(), registered);
                    if (base == null) {
                        stale.add(d.at(i + 1) + ": metric " + m.group() + " is not registered by the code");
                    } else if (d.name().equals("docs/operations.md")) {
                        inOperations.add(base);
                    }
                }
            }
        }
        registered.stream().filter(r -> !inOperations.contains(r))
                .forEach(r -> stale.add("docs/operations.md: the metrics table lacks " + r + " (registered by the code)"));
        assertThat(stale).as("metrics").isEmpty();
    }

    /** agentconfig_save_duration_seconds_bucket -> agentconfig_save_duration, if the code registers it. */
    private static String metricBase(String name, Set<String> registered) {
        String n = name;
        for (int i = 0; i < 3 && !registered.contains(n); i++) {
            n = n.replaceFirst("_(total|seconds|bucket|count|sum|max)$", "");
        }
        return registered.contains(n) ? n : null;
    }

    @Test
    void theApiDocNamesEveryEndpointAndEveryProblemType() {
        Doc api = doc("docs/api.md");
        Set<String> spans = new LinkedHashSet<>();
        Docs.spans(api).forEach(s -> spans.add(s.text()));
        Set<String> operations = restOperations();
        List<String> stale = new ArrayList<>();
        operations.stream().filter(op -> !spans.contains(op))
                .forEach(op -> stale.add("docs/api.md: the endpoint `" + op + "` (routes/) is not documented"));
        for (Docs.Span s : Docs.spans(api)) {
            Matcher m = HTTP_OP.matcher(s.text());
            if (m.matches() && !s.text().contains("…")) {
                String op = m.group(1) + " " + m.group(2).replaceFirst("\\?.*$", "");
                if (!operations.contains(op)) {
                    stale.add(s.at() + ": `" + s.text() + "` is no endpoint of routes/");
                }
            }
        }
        Set<String> types = matches(text(ROOT.resolve("src/main/java")),
                Pattern.compile("new (?:Problem|Refusal)\\(\\d{3},\\s*\"([a-z][a-z-]*)\""));
        types.stream().filter(t -> !spans.contains(t))
                .forEach(t -> stale.add("docs/api.md: the problem type `" + t + "` is not documented"));
        int section = api.lines().indexOf("## Problem types") + 1;
        int next = section;
        while (next < api.lines().size() && !api.lines().get(next).startsWith("## ")) {
            next++;
        }
        int end = next;
        assertThat(section).as("docs/api.md has a section ## Problem types").isPositive();
        Docs.tableRows(api).forEach((line, cells) -> {
            if (line > section && line <= end && cells.get(0).matches("`[a-z-]+`")) {
                String type = cells.get(0).replace("`", "");
                if (!types.contains(type)) {
                    stale.add(api.at(line) + ": `" + type + "` is no problem type of the code");
                }
            }
        });
        assertThat(stale).as("docs/api.md").isEmpty();
    }

    @Test
    void theSqlEditorRecipeNamesEveryMigration() throws IOException {
        String supabase = String.join("\n", doc("docs/supabase.md").lines());
        List<String> missing;
        try (Stream<Path> files = Files.list(ROOT.resolve("src/main/resources/db/migration"))) {
            missing = files.map(f -> f.getFileName().toString()).sorted().filter(f -> !supabase.contains(f)).toList();
        }
        assertThat(missing).as("docs/supabase.md: the SQL-editor recipe must paste every migration").isEmpty();
    }

    @Test
    void everyLinkAndAnchorResolves() {
        List<String> stale = new ArrayList<>();
        for (Doc d : docs) {
            Path dir = ROOT.resolve(d.name()).getParent();
            for (Docs.Link link : Docs.links(d)) {
                String target = link.target();
                if (target.matches("^[a-z]+:.*")) {
                    continue;
                }
                String file = target.contains("#") ? target.substring(0, target.indexOf('#')) : target;
                String anchor = target.contains("#") ? target.substring(target.indexOf('#') + 1) : null;
                Path resolved = file.isEmpty() ? ROOT.resolve(d.name()) : dir.resolve(file).normalize();
                String rel = ROOT.relativize(resolved).toString();
                if (!Files.exists(resolved)) {
                    if (!PENDING_DOCS.contains(rel)) {
                        stale.add(link.at() + ": " + target + " does not exist");
                    }
                    continue;
                }
                if (anchor != null && rel.endsWith(".md") && !Docs.anchors(Docs.load(rel)).contains(anchor)) {
                    stale.add(link.at() + ": " + rel + " has no heading #" + anchor);
                }
            }
        }
        assertThat(stale).as("links").isEmpty();
    }

    // ----- helpers -----------------------------------------------------------------------------------

    interface TokenSink {
        void accept(String token, int line, String context);
    }

    /** Inline code spans, and the words of mermaid node labels, with their line and the text before them. */
    private static void forEachToken(Doc d, TokenSink sink) {
        Map<Integer, String> prose = Docs.prose(d);
        for (Docs.Span s : Docs.spans(d)) {
            String text = prose.get(s.line());
            int at = text.indexOf("`" + s.text());
            sink.accept(s.text(), s.line(), at < 0 ? "" : text.substring(0, at));
        }
        Pattern label = Pattern.compile("\\[\"(.*?)\"\\]");
        for (Block b : Docs.blocks(d)) {
            if (!b.language().equals("mermaid")) {
                continue;
            }
            for (int i = 0; i < b.body().size(); i++) {
                Matcher m = label.matcher(b.body().get(i));
                while (m.find()) {
                    for (String word : m.group(1).split("<br/>|[\\s,]+")) {
                        String w = word.replaceAll("^[(]+", "").replaceAll("[):;]+$", "");
                        if (!w.isEmpty()) {
                            sink.accept(w, b.lineOf(i), "");
                        }
                    }
                }
            }
        }
        // the tests a no-run block names
        for (Block b : Docs.blocks(d)) {
            if (b.shell() && b.disposition() == Disposition.NO_RUN) {
                testNames(b.reason()).forEach(n -> sink.accept(n, b.line(), ""));
            }
        }
    }

    private static List<String> testNames(String text) {
        List<String> names = new ArrayList<>();
        Matcher m = TEST_CLASS.matcher(text);
        while (m.find()) {
            names.add(m.group());
        }
        return names;
    }

    private static List<String> commands(Block b) {
        return b.body().stream().map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    }

    private Doc doc(String name) {
        return docs.stream().filter(d -> d.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(name + " is missing"));
    }

    private Path classFile(String simpleName) {
        Path p = mainClasses.get(simpleName);
        if (p == null) {
            p = testClasses.get(simpleName);
        }
        // the browser client's JavaScript classes (src/main/resources/client/agent-config.js)
        Path js = ROOT.resolve("src/main/resources/client/agent-config.js");
        if (p == null && Files.exists(js) && Pattern.compile("\\bclass\\s+" + Pattern.quote(simpleName) + "\\b")
                .matcher(Docs.text(js)).find()) {
            p = js;
        }
        return p;
    }

    private static boolean hasMethod(Path file, String method) {
        return Pattern.compile("\\b" + Pattern.quote(method) + "\\s*\\(").matcher(Docs.text(file)).find();
    }

    private static Map<String, Path> classes(String dir) {
        Map<String, Path> out = new HashMap<>();
        try (Stream<Path> files = Files.walk(ROOT.resolve(dir))) {
            files.filter(f -> f.toString().endsWith(".java"))
                    .forEach(f -> out.put(f.getFileName().toString().replace(".java", ""), f));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static String text(Path dir) {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> files = Files.walk(dir)) {
            files.filter(Files::isRegularFile).sorted().forEach(f -> sb.append(Docs.text(f)).append('\n'));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sb.toString();
    }

    private static String routesText() {
        return text(ROOT.resolve("routes"));
    }

    private static Set<String> matches(String text, Pattern p) {
        Set<String> out = new TreeSet<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /** "bean.method" for every {@code ref: bean} followed by {@code method: name} in routes/. */
    private Set<String> beanMethods() {
        Set<String> out = new TreeSet<>();
        String[] lines = routes.split("\n");
        for (int i = 0; i + 1 < lines.length; i++) {
            Matcher ref = Pattern.compile("^\\s*ref:\\s*(\\w+)\\s*$").matcher(lines[i]);
            Matcher method = Pattern.compile("^\\s*method:\\s*(\\w+)\\s*$").matcher(lines[i + 1]);
            if (ref.matches() && method.matches()) {
                out.add(ref.group(1) + "." + method.group(1));
            }
        }
        return out;
    }

    /** "PUT /api/v1/agent-config/{tenantId}/{userId}", … from the REST DSL in routes/. */
    private Set<String> restOperations() {
        Set<String> ops = new TreeSet<>();
        String base = null;
        String verb = null;
        Pattern basePath = Pattern.compile("^\\s+path:\\s*(\\S+)\\s*$");
        Pattern verbLine = Pattern.compile("^\\s+(get|put|post|delete|patch):\\s*$");
        Pattern entry = Pattern.compile("^\\s+-\\s+(\\w+):\\s*(\\S*)\\s*$");
        for (String l : routes.split("\n")) {
            if (l.startsWith("- ")) {
                base = l.startsWith("- rest:") ? "" : null;
                verb = null;
                continue;
            }
            if (base == null) {
                continue;
            }
            Matcher v = verbLine.matcher(l);
            Matcher e = entry.matcher(l);
            Matcher b = basePath.matcher(l);
            if (v.matches()) {
                verb = v.group(1).toUpperCase(Locale.ROOT);
            } else if (e.matches() && verb != null) {
                ops.add(verb + " " + base + (e.group(1).equals("path") ? e.group(2) : ""));
            } else if (b.matches() && verb == null) {
                base = b.group(1);
            }
        }
        return ops;
    }
}
