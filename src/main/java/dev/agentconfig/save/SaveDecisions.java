package dev.agentconfig.save;

import java.util.Map;

import dev.agentconfig.core.WriteResult;
import org.apache.camel.Exchange;
import org.apache.camel.Predicate;

/**
 * The save route's decisions on its typed body (a {@link WriteResult}), as the Camel predicates that
 * routes/save.camel.yaml and legacy-key.camel.yaml name with the ref language.
 *
 * <p>Why not {@code simple: "${body.needsParking}"}: Simple's OGNL call on the body introspects the body's
 * class with a new BeanInfo (and looks it up in a cache keyed by the body, hashing the whole record) on every
 * evaluation; a {@code method:} call of a bean copies the exchange first. Seven of them ran per save: about a tenth of the service's CPU per save in the JFR profile of a
 * steady-state save run (docs/benchmarks.md). These are plain method calls. (Exchange: this is Camel's
 * Predicate/Expression contract.)
 */
public final class SaveDecisions {

    private SaveDecisions() {
    }

    /** The registry names the YAML uses, and what each answers. */
    public static Map<String, Object> beans(LegacyKeys legacyKeys) {
        return Map.of(
                "legacyKeyFound", (Predicate) e -> legacyKeys.found(result(e)),
                "isOvertaken", (Predicate) e -> result(e).overtaken(),
                "needsParking", (Predicate) e -> result(e).needsParking());
    }

    private static WriteResult result(Exchange exchange) {
        return exchange.getMessage().getBody(WriteResult.class);
    }
}
