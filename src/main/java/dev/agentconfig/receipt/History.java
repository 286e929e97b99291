package dev.agentconfig.receipt;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.core.Changes;
import dev.agentconfig.core.Field;
import dev.agentconfig.core.HybridLogicalClock;
import dev.agentconfig.core.Origin;
import dev.agentconfig.core.SaveCommand;
import dev.agentconfig.core.UserKey;
import dev.agentconfig.crypto.FieldCipher;

/**
 * The values that lost, per field (receipt/FieldHistory), as a user sees them: each with the save that wrote it
 * and the one that won (from their audit rows), the key masked; and a restore: that value saved again as a new
 * edit (the key opened from its sealed copy in memory and sealed again by the save; never shown).
 */
public final class History {
    private final FieldHistory history;
    private final SaveRecords records;
    private final FieldCipher cipher;
    private final HistorySettings settings;
    private final AuditTrail audit;
    private final Clock wall;

    /** @param history null when the transport gives none (rest): the history is then unsupported */
    public History(FieldHistory history, SaveRecords records, FieldCipher cipher, HistorySettings settings,
                   AuditTrail audit, Clock wall) {
        this.history = history;
        this.records = records;
        this.cipher = cipher;
        this.settings = settings;
        this.audit = audit;
        this.wall = wall;
    }

    public boolean available() {
        return history != null && records != null;
    }

    /** What is asked: a change of the user's history. */
    public record Restore(UserKey user, long changeId, String requestId) {
    }

    /** {"changes":[…]} newest first. */
    public Map<String, Object> of(UserKey user) {
        Instant notBefore = wall.instant().minus(settings.retention());
        List<Map<String, Object>> changes = new ArrayList<>();
        for (FieldHistory.Change c : history.of(user, notBefore)) {
            Optional<Field> field = Field.byJson(c.field());
            if (field.isEmpty()) {
                continue;
            }
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("changeId", c.id());
            v.put("field", c.field());
            v.put("kind", c.kind());
            v.put("value", shown(user, field.get(), c.value()));
            v.put("version", c.version());
            v.put("editedAt", HybridLogicalClock.instant(c.version()).toString());
            records.saveOf(user, field.get(), c.version(), notBefore).ifPresent(r -> {
                v.put("saveId", r.details().get("saveId"));
                v.put("origin", r.details().get("origin"));
            });
            Map<String, Object> won = new LinkedHashMap<>();
            won.put("version", c.byVersion());
            won.put("editedAt", HybridLogicalClock.instant(c.byVersion()).toString());
            records.saveOf(user, field.get(), c.byVersion(), notBefore).ifPresent(r -> {
                won.put("saveId", r.details().get("saveId"));
                won.put("origin", r.details().get("origin"));
            });
            v.put(c.kind().equals("lost") ? "lostTo" : "replacedBy", won);
            v.put("at", c.at().toString());
            changes.add(v);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("changes", changes);
        return body;
    }

    /**
     * The change's value as a new save of the user (origin restore), audited ("history-restore": the change, its
     * field, kind and version). Empty when the user has no such change (any more).
     */
    public Optional<SaveCommand> restore(Restore request) {
        UserKey user = request.user();
        Optional<FieldHistory.Change> change = history.find(user, request.changeId())
                .filter(c -> !c.at().isBefore(wall.instant().minus(settings.retention())));
        if (change.isEmpty()) {
            return Optional.empty();
        }
        FieldHistory.Change c = change.get();
        Field field = Field.byJson(c.field()).orElseThrow();
        String value = c.value() == null ? null
                : field.secret() ? cipher.open(c.value(), field.associatedData(user.tenantId(), user.userId()))
                : c.value();
        Map<Field, String> values = new EnumMap<>(Field.class);
        values.put(field, value);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("changeId", c.id());
        details.put("field", c.field());
        details.put("kind", c.kind());
        details.put("version", c.version());
        details.put("requestId", request.requestId());
        audit.record(new AuditEvent(wall.instant(), "history-restore", user.tenantId(), user.userId(), true, details));
        return Optional.of(new SaveCommand(user, Changes.of(values), Optional.empty(), Optional.empty(),
                Origin.RESTORE));
    }

    /** An agent id as it is; the key masked (null when it cannot be opened: never the envelope). */
    private String shown(UserKey user, Field field, String value) {
        if (value == null || !field.secret()) {
            return value;
        }
        try {
            return FieldCipher.mask(cipher.open(value, field.associatedData(user.tenantId(), user.userId())));
        } catch (RuntimeException unreadable) {
            return null;
        }
    }
}
