package dev.agentconfig.save;

import dev.agentconfig.core.Field;
import dev.agentconfig.core.Target;
import dev.agentconfig.core.TargetState;
import dev.agentconfig.core.Changes;
import java.time.Instant;
import java.util.LinkedHashMap;

import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentconfig.api.PathIdentity;
import dev.agentconfig.api.Problem;
import dev.agentconfig.audit.AuditEvent;
import dev.agentconfig.audit.AuditTrail;
import dev.agentconfig.crypto.FieldCipher;
import dev.agentconfig.core.Failure;
import dev.agentconfig.core.FailureClass;
import dev.agentconfig.failure.FailureClassifier;
import dev.agentconfig.json.Json;
import dev.agentconfig.observe.Metrics;
import dev.agentconfig.store.LocalStore;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of the save routes (routes/save.camel.yaml), each a small method the YAML calls by
 * name. The route is the pipeline; these methods are what each stage does.
 */
public final class SaveSteps {
    private static final Logger LOG = LoggerFactory.getLogger(SaveSteps.class);
    /** The one request header a save reads besides its credential (HttpHeaderFilter lets it in). */
    public static final String HEADER_IDEMPOTENCY = "Idempotency-Key";
    public static final String PARK_PROPERTY = "agentconfig.park";
    private static final String STARTED_PROPERTY = "agentconfig.save.started";
    private static final String IDEMPOTENCY_PROPERTY = "agentconfig.save.idempotencyKey";
    private static final String REVERSIONED_PROPERTY = "agentconfig.save.reversionedFrom";

    private final SaveRequestParser parser = new SaveRequestParser();
    private final FieldCipher cipher;
    private final VersionClock clock;
    private final IdempotencyKeys idempotencyKeys;
    private final FailureClassifier classifier;
    private final LocalStore localStore;
    private final AuditTrail audit;
    private final Metrics metrics;

    public SaveSteps(FieldCipher cipher, VersionClock clock, IdempotencyKeys idempotencyKeys,
                     FailureClassifier classifier, LocalStore localStore, AuditTrail audit, Metrics metrics) {
        this.cipher = cipher;
        this.clock = clock;
        this.idempotencyKeys = idempotencyKeys;
        this.classifier = classifier;
        this.localStore = localStore;
        this.audit = audit;
        this.metrics = metrics;
    }

    /**
     * The HTTP door (route save-agent-config): whose configuration is the path's, as HttpGuard
     * checked it against the credential ({@link PathIdentity}); the body holds only the fields
     * (a tenantId or userId in it is an unknown field: 400).
     */
    public void prepareHttp(Exchange exchange) {
        exchange.setProperty(STARTED_PROPERTY, System.nanoTime());
        PathIdentity path = PathIdentity.of(exchange);
        byte[] body = exchange.getMessage().getBody(byte[].class);
        exchange.getMessage().setBody(null);
        prepare(exchange, parser.parse(path.tenantId(), path.userId(), body,
                exchange.getMessage().getHeader(HEADER_IDEMPOTENCY, String.class)));
    }

    /**
     * The inbox door (route save-inbox-message, fed only by the inbox's file consumer): tenant and
     * user travel inside the JSON message, which is the only input of this door.
     */
    public void prepareInbox(Exchange exchange) {
        exchange.setProperty(STARTED_PROPERTY, System.nanoTime());
        byte[] body = exchange.getMessage().getBody(byte[].class);
        exchange.getMessage().setBody(null);
        prepare(exchange, parser.parseMessage(body));
    }

    /** Validate, assign saveId and version, seal the key. The plaintext does not outlive this method. */
    private void prepare(Exchange exchange, SaveRequest request) {
        localStore.tenantOfPendingUser(request.userId())
                .filter(t -> !t.equals(request.tenantId()))
                .ifPresent(t -> {
                    throw Problem.tenantConflict("user " + request.userId() + " is registered under another tenant");
                });
        UUID saveId;
        long version;
        boolean fresh = true;
        if (request.idempotencyKey().isPresent()) {
            IdempotencyKeys.Assigned a = idempotencyKeys.assign(request, request.idempotencyKey().get(), clock);
            saveId = a.saveId();
            version = a.version();
            fresh = a.fresh();
            exchange.setProperty(IDEMPOTENCY_PROPERTY, request.idempotencyKey().get());
        } else {
            saveId = UUID.randomUUID();
            version = clock.next();
        }
        Changes sealed = request.changes().map((field, value) -> field.secret()
                ? cipher.seal(value, field.associatedData(request.tenantId(), request.userId()))
                : value);
        PreparedSave save = new PreparedSave(request.tenantId(), request.userId(), saveId, version, sealed);
        exchange.setProperty(SaveContext.PROPERTY, new SaveContext(save, false, fresh));
    }

    // ----- user_profiles ---------------------------------------------------------------------

    public Map<String, Object> profileParams(Exchange exchange) {
        exchange.setProperty(SaveContext.TARGET_PROPERTY, Target.USER_PROFILES.table());
        PreparedSave save = context(exchange).save();
        ObjectNode config = Json.MAPPER.createObjectNode();
        putIfPresent(config, save, Field.CALL_AGENT_ID, "call_agent_id");
        putIfPresent(config, save, Field.SMS_AGENT_ID, "sms_agent_id");
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("userId", save.userId().toString());
        p.put("tenantId", save.tenantId());
        p.put("encryptedApiKey", save.sealed().has(Field.RETELL_API_KEY) ? save.sealed().get(Field.RETELL_API_KEY) : null);
        p.put("agentConfig", config.toString());
        p.put("fieldVersions", versions(save).toString());
        return p;
    }

    public void profileWritten(Exchange exchange) {
        written(exchange, Target.USER_PROFILES);
    }

    // ----- user_settings ---------------------------------------------------------------------

    public Map<String, Object> settingsParams(Exchange exchange) {
        exchange.setProperty(SaveContext.TARGET_PROPERTY, Target.USER_SETTINGS.table());
        PreparedSave save = context(exchange).save();
        ObjectNode config = Json.MAPPER.createObjectNode();
        putIfPresent(config, save, Field.CALL_AGENT_ID, "call_agent_id");
        putIfPresent(config, save, Field.SMS_AGENT_ID, "sms_agent_id");
        ObjectNode keys = Json.MAPPER.createObjectNode();
        putIfPresent(keys, save, Field.RETELL_API_KEY, "retell_api_key");
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("userId", save.userId().toString());
        p.put("tenantId", save.tenantId());
        p.put("retellConfig", config.toString());
        p.put("encryptedApiKeys", keys.toString());
        p.put("fieldVersions", versions(save).toString());
        return p;
    }

    public void settingsWritten(Exchange exchange) {
        written(exchange, Target.USER_SETTINGS);
    }

    /** Writing user_settings is pointless once the user turned out to belong to another tenant. */
    public boolean settingsWanted(Exchange exchange) {
        return !context(exchange).tenantConflict();
    }

    private void written(Exchange exchange, Target target) {
        SaveContext ctx = context(exchange);
        String returned = exchange.getMessage().getBody(String.class);
        JsonNode stored = returned == null ? null : Json.tree(returned);
        if (stored != null && stored.has("field_versions")) {
            // the settings RPC answers {"success":…, "field_versions":…, "legacy_api_key"?:…}
            JsonNode legacy = stored.get("legacy_api_key");
            if (legacy != null && legacy.isTextual()) {
                ctx.legacyKey(legacy.textValue());
            }
            stored = stored.get("field_versions");
        }
        boolean superseded = superseded(ctx.save(), stored);
        // the clock follows every version a table holds for this user (hybrid logical clock)
        if (clock.observe(newest(stored)) && superseded) {
            ctx.overtakenByClock();
        }
        ctx.record(target, superseded ? TargetState.STALE : TargetState.SAVED, null);
    }

    private static long newest(JsonNode storedVersions) {
        long newest = 0;
        if (storedVersions != null) {
            for (JsonNode v : storedVersions) {
                if (v.canConvertToLong()) {
                    newest = Math.max(newest, v.asLong());
                }
            }
        }
        return newest;
    }

    // ----- a save overtaken by a clock ahead of ours ---------------------------------------------

    /**
     * A fresh save (made for this request, not a replay or a repeated Idempotency-Key) that a table
     * holds a newer version against, from a clock ahead of this instance's (another instance, or
     * before the wall clock stepped back): the user's newest value would be dropped. It is written
     * once more, at a version above what the table holds (the clock has observed it).
     */
    public boolean supersededByAClockAhead(Exchange exchange) {
        return context(exchange).supersededByAClockAhead();
    }

    /** The same save (saveId, sealed fields) at a new version; not fresh any more: once only. */
    public void reversion(Exchange exchange) {
        SaveContext ctx = context(exchange);
        PreparedSave before = ctx.save();
        PreparedSave again = new PreparedSave(before.tenantId(), before.userId(), before.saveId(), clock.next(),
                before.sealed());
        exchange.setProperty(REVERSIONED_PROPERTY, before.version());
        exchange.setProperty(SaveContext.PROPERTY, new SaveContext(again, false, false));
        String key = exchange.getProperty(IDEMPOTENCY_PROPERTY, String.class);
        if (key != null) {
            idempotencyKeys.reversioned(before.tenantId(), before.userId(), key, before.saveId(), again.version());
        }
        LOG.info("Save {} for {}/{}: a table holds a newer version from a clock ahead of this instance's; "
                + "written again at version {} (was {})", before.saveId(), before.tenantId(), before.userId(),
                again.version(), before.version());
    }

    /** True when the table holds a newer version than this save for at least one of its fields. */
    static boolean superseded(PreparedSave save, JsonNode storedVersions) {
        if (storedVersions == null) {
            return false;
        }
        for (Field f : save.sealed().fields()) {
            JsonNode v = storedVersions.get(f.json());
            if (v != null && v.asLong() > save.versionOf(f)) {
                return true;
            }
        }
        return false;
    }

    // ----- dead-letter channel -----------------------------------------------------------------

    /** A target could not take the save: classify once, record, and decide whether to park it. */
    public void targetFailed(Exchange exchange) {
        SaveContext ctx = context(exchange);
        Target target = Target.byTable(exchange.getProperty(SaveContext.TARGET_PROPERTY, String.class));
        Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        Failure failure = classifier.classify(error);
        TargetState state = switch (failure.failureClass()) {
            case TENANT_CONFLICT -> TargetState.SKIPPED;
            case REJECTED -> TargetState.QUARANTINED;
            case TRANSIENT, SCHEMA_DRIFT -> TargetState.QUEUED;
        };
        ctx.record(target, state, failure);
        // a replay by the sync already lives in the local store: the sync records the failure itself
        boolean park = !ctx.replay()
                && (failure.failureClass() != FailureClass.TENANT_CONFLICT || isOnlyConflictAfterWrite(ctx, target));
        exchange.setProperty(PARK_PROPERTY, park);
        LOG.warn("Save {} for {}/{}: {} not written ({} {}: {}){}", ctx.save().saveId(), ctx.save().tenantId(),
                ctx.save().userId(), target.table(), failure.failureClass().id(), failure.code(), failure.message(),
                park ? "; parked in the local store" : "");
    }

    /**
     * A tenant conflict on user_settings after user_profiles already took the save can only come
     * from a race between two tenants; keep that save (quarantined) instead of half-refusing it.
     */
    private static boolean isOnlyConflictAfterWrite(SaveContext ctx, Target target) {
        if (target == Target.USER_SETTINGS && ctx.state(Target.USER_PROFILES) == TargetState.SAVED) {
            ctx.record(target, TargetState.QUARANTINED, ctx.failure(target));
            return true;
        }
        return false;
    }

    // ----- outcome ---------------------------------------------------------------------------

    /**
     * The answer of the save: 200 saved, or stale when a table holds a newer value for one of its
     * fields (the targets say which; never "saved" for a save that did not win); 202 when a target
     * is queued or quarantined; 409 for a tenant conflict. Status precedence: quarantined (an
     * operator must act), stale (the caller's value lost), queued, saved.
     */
    public Map<String, Object> outcome(Exchange exchange) {
        SaveContext ctx = context(exchange);
        PreparedSave save = ctx.save();
        if (ctx.tenantConflict() && ctx.state(Target.USER_SETTINGS) != TargetState.QUARANTINED) {
            throw Problem.tenantConflict("user " + save.userId() + " is registered under another tenant; nothing was saved");
        }
        Map<Target, TargetState> states = ctx.states();
        boolean quarantined = states.containsValue(TargetState.QUARANTINED);
        boolean queued = states.containsValue(TargetState.QUEUED);
        boolean stale = states.containsValue(TargetState.STALE);
        String status = quarantined ? "quarantined" : stale ? "stale" : queued ? "queued" : "saved";
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", status);
        body.put("saveId", save.saveId().toString());
        body.put("version", save.version());
        Map<String, String> targets = new LinkedHashMap<>();
        for (Target t : Target.values()) {
            TargetState s = states.get(t);
            targets.put(t.table(), s == null ? TargetState.SKIPPED.id() : s.id());
        }
        body.put("targets", targets);
        Failure failure = ctx.firstFailure();
        if (failure != null) {
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("class", failure.failureClass().id());
            error.put("code", failure.code());
            error.put("message", failure.message());
            body.put("error", error);
        }
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, quarantined || queued ? 202 : 200);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("saveId", save.saveId().toString());
        details.put("version", save.version());
        Long reversionedFrom = exchange.getProperty(REVERSIONED_PROPERTY, Long.class);
        if (reversionedFrom != null) {
            details.put("reversionedFrom", reversionedFrom);
        }
        details.put("fields", save.sealed().fields().stream().map(Field::json).toList());
        details.put("targets", targets);
        details.put("status", status);
        if (failure != null) {
            details.put("failureClass", failure.failureClass().id());
            details.put("code", failure.code());
        }
        audit.record(new AuditEvent(Instant.now(), "save", save.tenantId(), save.userId(), true, details));
        targets.forEach(metrics::saveOutcome);
        recordLatency(exchange);
        return body;
    }

    /** A refused save (400, 409, 503, …) is audited too, with what is known of it; then rethrown. */
    public void refused(Exchange exchange) throws Exception {
        Throwable error = exchange.getException();
        if (error == null) {
            error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        }
        SaveContext ctx = exchange.getProperty(SaveContext.PROPERTY, SaveContext.class);
        // a save refused before it was prepared: the HTTP path's identity when it is a valid one
        PathIdentity path = PathIdentity.find(exchange).orElse(null);
        String tenant = ctx != null ? ctx.save().tenantId()
                : path != null && Identifiers.validTenant(path.tenantId()) ? path.tenantId() : null;
        UUID user = ctx != null ? ctx.save().userId()
                : path != null && Identifiers.validUser(path.userId()) ? UUID.fromString(path.userId()) : null;
        Map<String, Object> details = new LinkedHashMap<>();
        if (error instanceof Problem p) {
            details.put("status", p.status());
            details.put("problem", p.type());
            if (p.status() == 409 && "tenant-conflict".equals(p.type())) {
                details.put("failureClass", FailureClass.TENANT_CONFLICT.id());
            }
        } else {
            details.put("status", 500);
            details.put("problem", "internal-error");
            LOG.error("Save failed unexpectedly", error);
        }
        if (ctx != null) {
            details.put("saveId", ctx.save().saveId().toString());
            Map<String, String> targets = new LinkedHashMap<>();
            ctx.states().forEach((t, s) -> targets.put(t.table(), s.id()));
            details.put("targets", targets);
        }
        audit.record(new AuditEvent(Instant.now(), "save", tenant, user, false, details));
        metrics.saveRefused(String.valueOf(details.get("status")));
        recordLatency(exchange);
        if (error instanceof Exception e) {
            throw e;
        }
        throw new IllegalStateException(error);
    }

    private void recordLatency(Exchange exchange) {
        Long started = exchange.getProperty(STARTED_PROPERTY, Long.class);
        if (started != null) {
            metrics.saveLatency(java.time.Duration.ofNanos(System.nanoTime() - started));
        }
    }

    // ----- helpers ---------------------------------------------------------------------------

    static SaveContext context(Exchange exchange) {
        SaveContext ctx = exchange.getProperty(SaveContext.PROPERTY, SaveContext.class);
        if (ctx == null) {
            throw new IllegalStateException("no save in this exchange");
        }
        return ctx;
    }

    private static void putIfPresent(ObjectNode node, PreparedSave save, Field field, String column) {
        if (save.sealed().has(field)) {
            String v = save.sealed().get(field);
            if (v == null) {
                node.putNull(column);
            } else {
                node.put(column, v);
            }
        }
    }

    private static ObjectNode versions(PreparedSave save) {
        ObjectNode v = Json.MAPPER.createObjectNode();
        for (Field f : save.sealed().fields()) {
            v.put(f.json(), save.versionOf(f));
        }
        return v;
    }

}
