-- Receipts (GET /api/v1/agent-config/{tenantId}/{userId}/saves/{saveId}): a save's receipt is derived from
-- the audit rows the save already leaves (audit_log, written in the save's transaction on the jdbc
-- transport) and the per-field versions of the tables; nothing more is written per save. This index finds
-- a save's own row by its saveId among a user's rows.
--
-- Additive and idempotent, like every migration here.
CREATE INDEX IF NOT EXISTS audit_log_save_idx ON public.audit_log (user_id, (details ->> 'saveId'));

-- ---------------------------------------------------------------------------------------
-- The values that lost (GET …/{tenantId}/{userId}/history, POST …/history/{changeId}/restore): a trigger on
-- user_profiles (the primary store) keeps, in the write's own transaction (no extra round trip), each value a
-- newer version replaced ("replaced") and each value that arrived with an older version than the one held and
-- so changed nothing ("lost": the loser of a conflict, e.g. an offline device's late edit). Values are as the
-- table holds them: the API key only ever its sealed envelope. Named to fire before user_profiles_guard
-- (triggers fire in name order), so it sees the write as sent.
--
-- Bounded per user: at most per_user rows, none older than keep (agentconfig.history.per-user and
-- agentconfig.history.retention; the jdbc service writes them into field_history_settings at start).
-- Row-level security on with no policy, nothing granted to anon or authenticated, like save_idempotency_keys.
-- ---------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.field_history (
    id          bigserial   PRIMARY KEY,
    user_id     uuid        NOT NULL,
    tenant_id   text        NOT NULL,
    field       text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('replaced', 'lost')),
    value       text,
    version     bigint      NOT NULL,
    by_version  bigint      NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS field_history_user_idx ON public.field_history (user_id, id DESC);
ALTER TABLE public.field_history ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE public.field_history FROM PUBLIC;

CREATE TABLE IF NOT EXISTS agentconfig.field_history_settings (
    id       boolean  PRIMARY KEY DEFAULT true CHECK (id),
    per_user integer  NOT NULL DEFAULT 100 CHECK (per_user >= 1),
    keep     interval NOT NULL DEFAULT interval '30 days'
);
INSERT INTO agentconfig.field_history_settings (id) VALUES (true) ON CONFLICT (id) DO NOTHING;
REVOKE ALL ON TABLE agentconfig.field_history_settings FROM PUBLIC;

CREATE OR REPLACE FUNCTION agentconfig.user_profiles_field_history()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_new      jsonb := coalesce(NEW.field_versions, '{}'::jsonb);
    v_old      jsonb := coalesce(OLD.field_versions, '{}'::jsonb);
    v_field    text;
    v_column   text;
    v_old_val  text;
    v_new_val  text;
    v_kept     integer := 0;
    v_settings agentconfig.field_history_settings;
BEGIN
    IF OLD.tenant_id IS DISTINCT FROM NEW.tenant_id THEN
        RETURN NEW; -- refused by the guard (AC409): nothing changes
    END IF;
    FOR v_field, v_column IN VALUES ('retellApiKey', NULL), ('callAgentId', 'call_agent_id'),
                                    ('smsAgentId', 'sms_agent_id') LOOP
        CONTINUE WHEN (v_new ->> v_field) IS NULL;
        IF v_column IS NULL THEN
            v_old_val := OLD.encrypted_retell_api_key;
            v_new_val := NEW.encrypted_retell_api_key;
        ELSE
            v_old_val := OLD.encrypted_agent_config ->> v_column;
            v_new_val := NEW.encrypted_agent_config ->> v_column;
        END IF;
        IF agentconfig.is_newer(v_new, v_old, v_field) THEN
            IF (v_old ->> v_field) IS NOT NULL THEN
                INSERT INTO public.field_history (user_id, tenant_id, field, kind, value, version, by_version)
                VALUES (OLD.user_id, OLD.tenant_id, v_field, 'replaced', v_old_val, (v_old ->> v_field)::bigint,
                        (v_new ->> v_field)::bigint);
                v_kept := v_kept + 1;
            END IF;
        ELSIF (v_new ->> v_field)::bigint <> (v_old ->> v_field)::bigint THEN
            INSERT INTO public.field_history (user_id, tenant_id, field, kind, value, version, by_version)
            VALUES (OLD.user_id, OLD.tenant_id, v_field, 'lost', v_new_val, (v_new ->> v_field)::bigint,
                    (v_old ->> v_field)::bigint);
            v_kept := v_kept + 1;
        END IF;
    END LOOP;
    IF v_kept > 0 THEN
        SELECT * INTO v_settings FROM agentconfig.field_history_settings WHERE id;
        DELETE FROM public.field_history h
        WHERE h.user_id = OLD.user_id
          AND (h.at < now() - coalesce(v_settings.keep, interval '30 days')
               OR h.id <= (SELECT k.id FROM public.field_history k WHERE k.user_id = OLD.user_id
                           ORDER BY k.id DESC OFFSET coalesce(v_settings.per_user, 100) LIMIT 1));
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION agentconfig.user_profiles_field_history() FROM PUBLIC;

CREATE OR REPLACE TRIGGER user_profiles_field_history
    BEFORE UPDATE ON public.user_profiles
    FOR EACH ROW EXECUTE FUNCTION agentconfig.user_profiles_field_history();

DO $$
DECLARE
    v_role text;
BEGIN
    -- Supabase's default privileges gave anon and authenticated ALL on every new table and function
    FOREACH v_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('REVOKE ALL ON TABLE public.field_history FROM %I', v_role);
            EXECUTE format('REVOKE ALL ON SEQUENCE public.field_history_id_seq FROM %I', v_role);
            EXECUTE format('REVOKE ALL ON TABLE agentconfig.field_history_settings FROM %I', v_role);
        END IF;
    END LOOP;
    -- like V4's other functions of the schema: the trigger runs as the writer (service_role over PostgREST)
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        EXECUTE 'GRANT EXECUTE ON FUNCTION agentconfig.user_profiles_field_history() TO service_role';
    END IF;
END
$$;
