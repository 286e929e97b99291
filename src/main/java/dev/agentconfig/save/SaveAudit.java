package dev.agentconfig.save;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.SaveOutcome;
import dev.agentconfig.core.SealedSave;
import dev.agentconfig.core.WriteResult;

/** The audit row of a save that was taken: ids, versions, fields (names only), what each target did. */
public final class SaveAudit {
    private SaveAudit() {
    }

    /**
     * The audit row that commits with the save's targets (one transaction on the jdbc transport): only for the
     * common case, every target saved (nothing parked, nothing stale: a stale save may be written again); null
     * otherwise, and the answer audits it (Saving#answer).
     */
    public static AuditEvent whenEveryTargetSaved(WriteResult result) {
        boolean all = !result.outcomes().isEmpty() && result.outcomes().values().stream()
                .allMatch(o -> o instanceof dev.agentconfig.core.TargetOutcome.Saved);
        return all ? saved(result) : null;
    }

    public static AuditEvent saved(WriteResult result) {
        return saved(result, SaveOutcome.of(result));
    }

    static AuditEvent saved(WriteResult result, SaveOutcome outcome) {
        SealedSave save = result.save();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("saveId", save.saveId().toString());
        details.put("version", save.version());
        details.put("origin", save.origin().id());
        details.put("fields", save.fields().keySet().stream().map(Field::json).toList());
        Map<String, String> targets = new LinkedHashMap<>();
        outcome.targets().forEach((t, s) -> targets.put(t.table(), s.id()));
        details.put("targets", targets);
        details.put("status", outcome.status());
        outcome.failure().ifPresent(f -> {
            details.put("failureClass", f.failureClass().id());
            details.put("code", f.code());
        });
        return new AuditEvent(Instant.now(), "save", save.tenantId(), save.userId(), true, details);
    }
}
