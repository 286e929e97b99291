package dev.agentconfig.core;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * The fields a save carries: present with a value (set) or present with null (clear); a field
 * that is absent stays unchanged. Immutable; never prints its values (one may be the key).
 */
public final class Changes {
    private final EnumMap<Field, String> values;

    private Changes(EnumMap<Field, String> values) {
        this.values = values;
    }

    public static Changes of(Map<Field, String> values) {
        return new Changes(values.isEmpty() ? new EnumMap<>(Field.class) : new EnumMap<>(values));
    }

    public boolean has(Field field) {
        return values.containsKey(field);
    }

    /** The value, or null when the save clears the field (check {@link #has} first). */
    public String get(Field field) {
        return values.get(field);
    }

    public Set<Field> fields() {
        return Collections.unmodifiableSet(values.keySet());
    }

    /** The same fields with each value passed through fn (nulls stay null). */
    public Changes map(BiFunction<Field, String, String> fn) {
        EnumMap<Field, String> out = new EnumMap<>(Field.class);
        values.forEach((f, v) -> out.put(f, v == null ? null : fn.apply(f, v)));
        return new Changes(out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Changes c && c.values.equals(values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    @Override
    public String toString() {
        return "Changes" + values.keySet();
    }
}
