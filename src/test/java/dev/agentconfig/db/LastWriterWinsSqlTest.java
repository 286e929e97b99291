package dev.agentconfig.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import dev.agentconfig.core.LastWriterWins;
import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * Last-writer-wins written once in SQL: after all migrations, {@code agentconfig.replaces} (V8) is the one
 * function of the database that compares versions, it answers as core/LastWriterWins does, and every function
 * that decides whether a write replaces a field (the guards' {@code is_newer}, the Idempotency-Key's
 * {@code save_idempotency_record}) calls it. The functions are checked as the database holds them now (an applied
 * migration's older body, replaced since, is not in the catalog any more).
 */
class LastWriterWinsSqlTest extends ServiceTestSupport {
    /** A version right beside a relational operator, once JSON's and the not-equal operators are set aside. */
    private static final Pattern COMPARISON = Pattern.compile(
            "version\\w*[)\\]:a-z]*\\s*(<|>|<=|>=)\\s*\\S|\\S\\s*(<|>|<=|>=)\\s*[\\w.(]*version", Pattern.CASE_INSENSITIVE);

    @Test
    void replacesAnswersAsTheJavaRule() {
        long[] versions = {1, 2, 1_718_000_000_000_000L, Long.MAX_VALUE};
        for (long a : versions) {
            for (long b : versions) {
                assertThat(query("SELECT agentconfig.replaces(?, ?) AS r", a, b).get(0).get("r"))
                        .as(a + " over " + b).isEqualTo(LastWriterWins.replaces(a, b));
            }
            // nothing held (SQL null, Java 0) is replaced by any version; no version replaces nothing
            assertThat(query("SELECT agentconfig.replaces(?, NULL) AS r", a).get(0).get("r"))
                    .isEqualTo(LastWriterWins.replaces(a, 0));
            assertThat(query("SELECT agentconfig.replaces(NULL, ?) AS r", a).get(0).get("r")).isEqualTo(false);
        }
    }

    @Test
    void noOtherFunctionComparesVersionsAndTheDecidersCallTheRule() {
        List<Map<String, Object>> functions = query("SELECT n.nspname || '.' || p.proname AS name, p.prosrc AS src "
                + "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                + "WHERE n.nspname IN ('public', 'agentconfig') AND p.prokind = 'f'");
        assertThat(functions).extracting(f -> f.get("name")).contains("agentconfig.replaces", "agentconfig.is_newer",
                "public.save_idempotency_record");
        List<String> found = new ArrayList<>();
        for (Map<String, Object> f : functions) {
            if ("agentconfig.replaces".equals(f.get("name"))) {
                assertThat(String.valueOf(f.get("src"))).contains("p_new_version > p_held_version");
                continue;
            }
            for (String line : String.valueOf(f.get("src")).split("\n")) {
                String code = line.replaceAll("--.*", "").replace("->>", "   ").replace("->", "  ")
                        .replace("#>>", "   ").replace("@>", "  ").replace("<@", "  ").replace("<>", "  ");
                if (COMPARISON.matcher(code).find()) {
                    found.add(f.get("name") + ": " + line.trim());
                }
            }
        }
        assertThat(found).as("versions compared outside agentconfig.replaces").isEmpty();
        for (String decider : List.of("agentconfig.is_newer", "public.save_idempotency_record")) {
            assertThat(functions).filteredOn(f -> decider.equals(f.get("name")))
                    .extracting(f -> String.valueOf(f.get("src"))).singleElement().asString()
                    .contains("agentconfig.replaces(");
        }
    }

    /** The scan itself finds a second rule: the bodies V4 and V6 had are what it must refuse. */
    @Test
    void theScanRecognisesASecondRule() {
        String v4 = "OR (p_new_versions ->> p_field)::bigint > (p_old_versions ->> p_field)::bigint);";
        String v6 = "WHERE k.save_id = EXCLUDED.save_id AND k.version < EXCLUDED.version;";
        for (String line : List.of(v4, v6)) {
            String code = line.replace("->>", "   ");
            assertThat(COMPARISON.matcher(code).find()).as(line).isTrue();
        }
        assertThat(COMPARISON.matcher("WHERE k.created_at < p_not_before").find()).isFalse();
        assertThat(COMPARISON.matcher("IF jsonb_typeof(p_versions)   'object' THEN").find()).isFalse();
    }
}
