package dev.agentconfig.save;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.agentconfig.core.SaveOutcome;

/** The answer body of a save, the same for every door that answers in JSON (HTTP, the inbox's receipts). */
public final class SaveAnswer {
    private SaveAnswer() {
    }

    /** {"status","saveId","version","targets":{table: state},"error"?:{"class","code","cause","message"}} */
    public static Map<String, Object> of(SaveOutcome outcome) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", outcome.status());
        body.put("saveId", outcome.saveId().toString());
        body.put("version", outcome.version());
        Map<String, String> targets = new LinkedHashMap<>();
        outcome.targets().forEach((t, s) -> targets.put(t.table(), s.id()));
        body.put("targets", targets);
        outcome.failure().ifPresent(f -> {
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("class", f.failureClass().id());
            error.put("code", f.code());
            error.put("cause", f.cause().id());
            error.put("message", f.message());
            body.put("error", error);
        });
        return body;
    }
}
