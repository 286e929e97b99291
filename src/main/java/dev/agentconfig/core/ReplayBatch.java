package dev.agentconfig.core;

import java.util.List;

/**
 * Local entries replayed together (the sync's batch on the jdbc transport): each entry as a save and,
 * once written, what each of its targets made of it. One transaction writes the whole batch; each entry
 * is then settled on its own.
 *
 * @param entries one {@link WriteResult} per entry, in the order the pass planned them
 */
public record ReplayBatch(List<WriteResult> entries) {

    public ReplayBatch {
        entries = List.copyOf(entries);
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** At least one target of one entry reached a table (saved, or already newer there). */
    public boolean wroteAny() {
        return entries.stream().anyMatch(w -> w.outcomes().values().stream()
                .anyMatch(o -> o.state() == TargetState.SAVED || o.state() == TargetState.STALE));
    }

    @Override
    public String toString() {
        return "ReplayBatch[" + entries.size() + " entries]";
    }
}
