-- Per-field last-writer-wins and the tenant guard, enforced by the database itself.
--
-- Every writer (this service over JDBC, this service over PostgREST, anything else that
-- writes these tables) goes through the same triggers, so none can bypass them:
--  * a field changes only when the write carries a version for it (field_versions) that is
--    newer than the stored one; a write without a version for a field leaves it untouched;
--  * a user belongs to exactly one tenant: a write under another tenant raises SQLSTATE AC409.
-- A PostgREST upsert (merge-duplicates) overwrites whole columns, which is why the merge
-- happens here, per field, and not in the statement.

GRANT USAGE ON SCHEMA agentconfig TO PUBLIC;

-- True when the write's version for p_field must replace the stored one.
CREATE OR REPLACE FUNCTION agentconfig.is_newer(p_new_versions jsonb, p_old_versions jsonb, p_field text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = ''
AS $$
    SELECT (p_new_versions ->> p_field) IS NOT NULL
       AND ((p_old_versions ->> p_field) IS NULL
            OR (p_new_versions ->> p_field)::bigint > (p_old_versions ->> p_field)::bigint)
$$;

CREATE OR REPLACE FUNCTION agentconfig.assert_single_tenant(p_user_id uuid, p_tenant_id text)
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM public.user_profiles
               WHERE user_id = p_user_id AND tenant_id IS NOT NULL AND tenant_id <> p_tenant_id)
       OR EXISTS (SELECT 1 FROM public.user_settings
                  WHERE user_id = p_user_id AND tenant_id IS NOT NULL AND tenant_id <> p_tenant_id) THEN
        RAISE EXCEPTION 'user % is registered under another tenant', p_user_id
            USING ERRCODE = 'AC409', HINT = 'a user belongs to exactly one tenant';
    END IF;
END
$$;

-- user_profiles: encrypted_retell_api_key <- retellApiKey,
-- encrypted_agent_config.call_agent_id <- callAgentId, .sms_agent_id <- smsAgentId.
CREATE OR REPLACE FUNCTION agentconfig.user_profiles_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_new      jsonb := coalesce(NEW.field_versions, '{}'::jsonb);
    v_old      jsonb;
    v_versions jsonb;
    v_config   jsonb;
    v_changed  boolean := false;
    v_field    text;
    v_column   text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM agentconfig.assert_single_tenant(NEW.user_id, NEW.tenant_id);
        NEW.field_versions := v_new;
        NEW.encrypted_agent_config := coalesce(NEW.encrypted_agent_config, '{}'::jsonb);
        RETURN NEW;
    END IF;

    IF OLD.tenant_id IS NOT NULL AND NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
        RAISE EXCEPTION 'user % is registered under another tenant', OLD.user_id
            USING ERRCODE = 'AC409', HINT = 'a user belongs to exactly one tenant';
    END IF;

    v_old := coalesce(OLD.field_versions, '{}'::jsonb);
    v_versions := v_old;
    v_config := coalesce(OLD.encrypted_agent_config, '{}'::jsonb);

    IF agentconfig.is_newer(v_new, v_old, 'retellApiKey') THEN
        v_versions := jsonb_set(v_versions, '{retellApiKey}', v_new -> 'retellApiKey');
        v_changed := true;
    ELSE
        NEW.encrypted_retell_api_key := OLD.encrypted_retell_api_key;
    END IF;

    FOR v_field, v_column IN VALUES ('callAgentId', 'call_agent_id'), ('smsAgentId', 'sms_agent_id') LOOP
        IF agentconfig.is_newer(v_new, v_old, v_field) THEN
            v_config := jsonb_set(v_config, ARRAY[v_column],
                                  coalesce(NEW.encrypted_agent_config -> v_column, 'null'::jsonb));
            v_versions := jsonb_set(v_versions, ARRAY[v_field], v_new -> v_field);
            v_changed := true;
        END IF;
    END LOOP;

    NEW.encrypted_agent_config := v_config;
    NEW.field_versions := v_versions;
    IF v_changed THEN
        NEW.updated_at := now();
    ELSE
        NEW.updated_at := OLD.updated_at;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER user_profiles_guard
    BEFORE INSERT OR UPDATE ON public.user_profiles
    FOR EACH ROW EXECUTE FUNCTION agentconfig.user_profiles_guard();

-- user_settings: encrypted_api_keys.retell_api_key <- retellApiKey,
-- retell_config.call_agent_id <- callAgentId, .sms_agent_id <- smsAgentId.
-- Writing the key also removes a legacy plaintext retell_config.api_key (the seed's flaw).
CREATE OR REPLACE FUNCTION agentconfig.user_settings_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_new      jsonb := coalesce(NEW.field_versions, '{}'::jsonb);
    v_old      jsonb;
    v_versions jsonb;
    v_config   jsonb;
    v_keys     jsonb;
    v_changed  boolean := false;
    v_field    text;
    v_column   text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM agentconfig.assert_single_tenant(NEW.user_id, NEW.tenant_id);
        NEW.field_versions := v_new;
        NEW.retell_config := coalesce(NEW.retell_config, '{}'::jsonb);
        NEW.encrypted_api_keys := coalesce(NEW.encrypted_api_keys, '{}'::jsonb);
        IF v_new ? 'retellApiKey' THEN
            NEW.retell_config := NEW.retell_config - 'api_key';
            NEW.api_key_updated_at := now();
        END IF;
        RETURN NEW;
    END IF;

    IF OLD.tenant_id IS NOT NULL AND NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
        RAISE EXCEPTION 'user % is registered under another tenant', OLD.user_id
            USING ERRCODE = 'AC409', HINT = 'a user belongs to exactly one tenant';
    END IF;

    v_old := coalesce(OLD.field_versions, '{}'::jsonb);
    v_versions := v_old;
    v_config := coalesce(OLD.retell_config, '{}'::jsonb);
    v_keys := coalesce(OLD.encrypted_api_keys, '{}'::jsonb);

    IF agentconfig.is_newer(v_new, v_old, 'retellApiKey') THEN
        v_keys := jsonb_set(v_keys, '{retell_api_key}',
                            coalesce(NEW.encrypted_api_keys -> 'retell_api_key', 'null'::jsonb));
        v_config := v_config - 'api_key';
        v_versions := jsonb_set(v_versions, '{retellApiKey}', v_new -> 'retellApiKey');
        NEW.api_key_updated_at := now();
        v_changed := true;
    ELSE
        NEW.api_key_updated_at := OLD.api_key_updated_at;
    END IF;

    FOR v_field, v_column IN VALUES ('callAgentId', 'call_agent_id'), ('smsAgentId', 'sms_agent_id') LOOP
        IF agentconfig.is_newer(v_new, v_old, v_field) THEN
            v_config := jsonb_set(v_config, ARRAY[v_column],
                                  coalesce(NEW.retell_config -> v_column, 'null'::jsonb));
            v_versions := jsonb_set(v_versions, ARRAY[v_field], v_new -> v_field);
            v_changed := true;
        END IF;
    END LOOP;

    NEW.retell_config := v_config;
    NEW.encrypted_api_keys := v_keys;
    NEW.field_versions := v_versions;
    IF v_changed THEN
        NEW.updated_at := now();
    ELSE
        NEW.updated_at := OLD.updated_at;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER user_settings_guard
    BEFORE INSERT OR UPDATE ON public.user_settings
    FOR EACH ROW EXECUTE FUNCTION agentconfig.user_settings_guard();

-- The seed's version of the RPC: SECURITY DEFINER, no search_path, callable by anyone for
-- any user, and it wrote the plaintext key into retell_config. It must not stay callable.
DROP FUNCTION IF EXISTS public.update_user_api_keys(uuid, text, jsonb, jsonb);

-- The settings RPC. SECURITY DEFINER so that callers need no table grants; therefore an
-- empty search_path, schema-qualified names, EXECUTE revoked from PUBLIC/anon, and an
-- ownership check when PostgREST request claims say the caller is an end user.
CREATE OR REPLACE FUNCTION public.update_user_api_keys(
    p_user_id            uuid,
    p_tenant_id          text,
    p_retell_config      jsonb,
    p_encrypted_api_keys jsonb,
    p_field_versions     jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_claims   jsonb;
    v_versions jsonb;
BEGIN
    v_claims := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
    IF v_claims IS NOT NULL AND v_claims ->> 'role' = 'authenticated'
       AND lower(coalesce(v_claims ->> 'sub', '')) <> lower(p_user_id::text) THEN
        RAISE EXCEPTION 'not allowed to change the settings of another user'
            USING ERRCODE = 'AC403';
    END IF;
    IF p_user_id IS NULL OR p_tenant_id IS NULL THEN
        RAISE EXCEPTION 'p_user_id and p_tenant_id are required' USING ERRCODE = '22004';
    END IF;

    INSERT INTO public.user_settings AS s
        (user_id, tenant_id, retell_config, encrypted_api_keys, field_versions, updated_at)
    VALUES (p_user_id, p_tenant_id, coalesce(p_retell_config, '{}'::jsonb),
            coalesce(p_encrypted_api_keys, '{}'::jsonb), coalesce(p_field_versions, '{}'::jsonb), now())
    ON CONFLICT (user_id, tenant_id) DO UPDATE
        SET retell_config      = EXCLUDED.retell_config,
            encrypted_api_keys = EXCLUDED.encrypted_api_keys,
            field_versions     = EXCLUDED.field_versions,
            updated_at         = EXCLUDED.updated_at
    RETURNING s.field_versions INTO v_versions;

    RETURN jsonb_build_object('success', true, 'field_versions', v_versions);
END
$$;

REVOKE ALL ON FUNCTION public.update_user_api_keys(uuid, text, jsonb, jsonb, jsonb) FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
        EXECUTE 'REVOKE ALL ON FUNCTION public.update_user_api_keys(uuid, text, jsonb, jsonb, jsonb) FROM anon';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        EXECUTE 'GRANT EXECUTE ON FUNCTION public.update_user_api_keys(uuid, text, jsonb, jsonb, jsonb) TO authenticated';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        EXECUTE 'GRANT EXECUTE ON FUNCTION public.update_user_api_keys(uuid, text, jsonb, jsonb, jsonb) TO service_role';
    END IF;
END
$$;
