package dev.agentconfig.db;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.camel.Exchange;
import org.apache.camel.component.sql.DefaultSqlPrepareStatementStrategy;

/**
 * camel-sql's statement strategy with its per-call parsing done once per statement: the
 * service's statements are fixed texts with plain named parameters (:#name), so the JDBC form
 * of the query and the order of its parameters never change. The profile showed camel-sql
 * re-parsing both with regular expressions on every save.
 */
public final class CachedSqlStatements extends DefaultSqlPrepareStatementStrategy {
    private static final Pattern NAMED = Pattern.compile(":#(\\w+)");

    private final Map<String, String> prepared = new ConcurrentHashMap<>();
    private final Map<String, List<String>> parameters = new ConcurrentHashMap<>();

    private static boolean plain(String query) {
        return !query.contains(":?in:") && !query.contains(":#${") && !query.contains(":?");
    }

    @Override
    public String prepareQuery(String query, boolean allowNamedParameters, Exchange exchange) throws SQLException {
        if (!allowNamedParameters || !plain(query)) {
            return super.prepareQuery(query, allowNamedParameters, exchange);
        }
        String answer = prepared.get(query);
        if (answer == null) {
            answer = super.prepareQuery(query, true, exchange);
            prepared.put(query, answer);
        }
        return answer;
    }

    @Override
    public Iterator<?> createPopulateIterator(String query, String preparedQuery, int expectedParams, Exchange exchange,
                                              Object value) throws SQLException {
        if (!plain(query)) {
            return super.createPopulateIterator(query, preparedQuery, expectedParams, exchange, value);
        }
        if (!(value instanceof Map<?, ?> body)) {
            throw new SQLException("the parameters of a statement must be a Map, not "
                    + (value == null ? "null" : value.getClass().getSimpleName()));
        }
        List<String> names = parameters.computeIfAbsent(query, q -> {
            List<String> found = new ArrayList<>();
            Matcher m = NAMED.matcher(q);
            while (m.find()) {
                found.add(m.group(1));
            }
            return List.copyOf(found);
        });
        // only from the body map: camel-sql would fall back to a message header of that name, which
        // makes every header a possible statement parameter; a missing parameter is a bug here
        List<Object> values = new ArrayList<>(names.size());
        for (String name : names) {
            if (!body.containsKey(name)) {
                throw new SQLException("statement parameter " + name + " is missing from the parameter map");
            }
            values.add(body.get(name));
        }
        return values.iterator();
    }
}
