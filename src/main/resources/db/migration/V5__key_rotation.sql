-- Key rotation (docs/key-rotation.md): every stored API key re-sealed under the keyring's active key,
-- and the seed's legacy plaintext keys sealed, while saves go on. Both transports use the same three
-- functions: a select over JDBC, POST /rest/v1/rpc/<name> over PostgREST.
--
-- Re-sealing keeps a value, and so its version; the per-field guards of V2 let a key change only with a
-- strictly newer version. The exemption is a second trigger per table that fires after the guard (the
-- triggers of one event fire in name order: <table>_guard, then <table>_reseal). It replaces exactly one
-- envelope X by one envelope Y at the same version, and only when
--   * the transaction-local setting agentconfig.reseal is 'X Y' (set by public.reseal_retell_keys for
--     one row at a time, and reset after it),
--   * the row holds exactly X: compare-and-set on the envelope, so a save made meanwhile (another
--     envelope, a newer version) is never overwritten and never loses,
--   * the write carries no newer version of the key (the guard kept the stored one), and
--   * Y is a well-formed v1 envelope.
-- No version and no updated_at changes. For a legacy row whose table already holds a versioned key, the
-- setting 'drop-legacy <sha256>' lets the plaintext retell_config.api_key whose SHA-256 that is go.
-- Whoever can set the setting and write the table can already write any value at a newer version: the
-- exemption gives no new power over the data, and no other writer (end users cannot write these tables
-- at all, V4) is affected. Normal saves do not even fire the trigger (its WHEN clause).
--
-- Not SECURITY DEFINER: the functions run as their caller, the table owner (jdbc) or service_role (rest),
-- and go through the same guard triggers as every save. EXECUTE only for those.
-- Additive and idempotent like V1-V4: functions and triggers are created or replaced, nothing is dropped.

-- ---------------------------------------------------------------------------------------
-- The exemption
-- ---------------------------------------------------------------------------------------

-- The envelope the current setting allows in place of p_old, or null.
CREATE OR REPLACE FUNCTION agentconfig.reseal_allowed(p_old text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
    v_setting text := current_setting('agentconfig.reseal', true);
    v_new     text;
BEGIN
    IF v_setting IS NULL OR v_setting = '' OR p_old IS NULL OR split_part(v_setting, ' ', 1) <> p_old THEN
        RETURN NULL;
    END IF;
    v_new := split_part(v_setting, ' ', 2);
    IF v_new !~ '^v1:[0-9a-f]{8}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$' THEN
        RETURN NULL;
    END IF;
    RETURN v_new;
END
$$;

CREATE OR REPLACE FUNCTION agentconfig.user_profiles_reseal()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_new text;
BEGIN
    -- the guard kept the stored key and its version: this write brings no newer key
    IF NEW.encrypted_retell_api_key IS NOT DISTINCT FROM OLD.encrypted_retell_api_key
       AND (NEW.field_versions -> 'retellApiKey') IS NOT DISTINCT FROM (OLD.field_versions -> 'retellApiKey') THEN
        v_new := agentconfig.reseal_allowed(OLD.encrypted_retell_api_key);
        IF v_new IS NOT NULL THEN
            NEW.encrypted_retell_api_key := v_new;
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER user_profiles_reseal
    BEFORE UPDATE ON public.user_profiles
    FOR EACH ROW
    WHEN (coalesce(current_setting('agentconfig.reseal', true), '') <> '')
    EXECUTE FUNCTION agentconfig.user_profiles_reseal();

CREATE OR REPLACE FUNCTION agentconfig.user_settings_reseal()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_setting text := current_setting('agentconfig.reseal', true);
    v_new     text;
BEGIN
    IF v_setting LIKE 'drop-legacy %' THEN
        IF jsonb_typeof(OLD.retell_config -> 'api_key') = 'string'
           AND encode(sha256(convert_to(OLD.retell_config ->> 'api_key', 'UTF8')), 'hex') = split_part(v_setting, ' ', 2)
           AND (OLD.field_versions ? 'retellApiKey') THEN
            NEW.retell_config := NEW.retell_config - 'api_key';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.encrypted_api_keys ->> 'retell_api_key') IS NOT DISTINCT FROM (OLD.encrypted_api_keys ->> 'retell_api_key')
       AND (NEW.field_versions -> 'retellApiKey') IS NOT DISTINCT FROM (OLD.field_versions -> 'retellApiKey') THEN
        v_new := agentconfig.reseal_allowed(OLD.encrypted_api_keys ->> 'retell_api_key');
        IF v_new IS NOT NULL THEN
            NEW.encrypted_api_keys := jsonb_set(coalesce(NEW.encrypted_api_keys, '{}'::jsonb), '{retell_api_key}',
                                                to_jsonb(v_new));
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER user_settings_reseal
    BEFORE UPDATE ON public.user_settings
    FOR EACH ROW
    WHEN (coalesce(current_setting('agentconfig.reseal', true), '') <> '')
    EXECUTE FUNCTION agentconfig.user_settings_reseal();

-- ---------------------------------------------------------------------------------------
-- What is sealed with which key (start-up check, health, metrics, retirement)
-- ---------------------------------------------------------------------------------------

-- {"user_profiles": {"<keyId>": n, …}, "user_settings": {…}, "legacy_plaintext": n, "foreign": n}
-- foreign: key values that are no envelope of this service (the seed's browser-encrypted values).
CREATE OR REPLACE FUNCTION public.retell_key_usage()
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = ''
AS $$
    SELECT jsonb_build_object(
        'user_profiles', coalesce((
            SELECT jsonb_object_agg(k.key_id, k.n) FROM (
                SELECT split_part(p.encrypted_retell_api_key, ':', 2) AS key_id, count(*) AS n
                FROM public.user_profiles p
                WHERE p.encrypted_retell_api_key ~ '^v1:[0-9a-f]{8}:'
                GROUP BY 1) k), '{}'::jsonb),
        'user_settings', coalesce((
            SELECT jsonb_object_agg(k.key_id, k.n) FROM (
                SELECT split_part(s.encrypted_api_keys ->> 'retell_api_key', ':', 2) AS key_id, count(*) AS n
                FROM public.user_settings s
                WHERE (s.encrypted_api_keys ->> 'retell_api_key') ~ '^v1:[0-9a-f]{8}:'
                GROUP BY 1) k), '{}'::jsonb),
        'legacy_plaintext', (
            SELECT count(*) FROM public.user_settings s
            WHERE jsonb_typeof(s.retell_config -> 'api_key') = 'string' AND (s.retell_config ->> 'api_key') <> ''),
        'foreign', (
            SELECT count(*) FROM public.user_profiles p
            WHERE p.encrypted_retell_api_key IS NOT NULL AND p.encrypted_retell_api_key !~ '^v1:[0-9a-f]{8}:')
          + (SELECT count(*) FROM public.user_settings s
             WHERE (s.encrypted_api_keys ->> 'retell_api_key') IS NOT NULL
               AND (s.encrypted_api_keys ->> 'retell_api_key') !~ '^v1:[0-9a-f]{8}:'))
$$;

-- ---------------------------------------------------------------------------------------
-- The rotation's batches
-- ---------------------------------------------------------------------------------------

-- Every row (of both tables) of the next p_limit users, by user id after p_after, whose key is sealed
-- with another key than p_active_key_id or who still have a legacy plaintext key. Each branch walks its
-- primary key in order and stops after p_limit users: a batch costs what it returns, not the table.
CREATE OR REPLACE FUNCTION public.retell_keys_to_reseal(p_active_key_id text, p_after uuid, p_limit integer)
RETURNS TABLE (table_name text, user_id uuid, tenant_id text, key_value text, legacy_key text)
LANGUAGE sql STABLE
SET search_path = ''
AS $$
    WITH users AS (
        SELECT DISTINCT u.uid FROM (
            (SELECT p.user_id AS uid FROM public.user_profiles p
              WHERE p.user_id > coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid)
                AND p.encrypted_retell_api_key ~ '^v1:[0-9a-f]{8}:'
                AND split_part(p.encrypted_retell_api_key, ':', 2) <> p_active_key_id
              ORDER BY p.user_id LIMIT p_limit)
            UNION ALL
            (SELECT s.user_id AS uid FROM public.user_settings s
              WHERE s.user_id > coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid)
                AND (((s.encrypted_api_keys ->> 'retell_api_key') ~ '^v1:[0-9a-f]{8}:'
                      AND split_part(s.encrypted_api_keys ->> 'retell_api_key', ':', 2) <> p_active_key_id)
                     OR (jsonb_typeof(s.retell_config -> 'api_key') = 'string' AND (s.retell_config ->> 'api_key') <> ''))
              ORDER BY s.user_id LIMIT p_limit)
        ) u
        ORDER BY u.uid
        LIMIT p_limit
    )
    SELECT x.table_name, x.user_id, x.tenant_id, x.key_value, x.legacy_key FROM (
        SELECT 'user_profiles'::text AS table_name, p.user_id, p.tenant_id,
               p.encrypted_retell_api_key AS key_value, NULL::text AS legacy_key
          FROM users u JOIN public.user_profiles p ON p.user_id = u.uid
        UNION ALL
        SELECT 'user_settings'::text, s.user_id, s.tenant_id, s.encrypted_api_keys ->> 'retell_api_key',
               CASE WHEN jsonb_typeof(s.retell_config -> 'api_key') = 'string' AND (s.retell_config ->> 'api_key') <> ''
                    THEN s.retell_config ->> 'api_key' END
          FROM users u JOIN public.user_settings s ON s.user_id = u.uid
    ) x
    ORDER BY x.user_id, x.table_name
$$;

-- p_items: [{"user_id", "tenant_id", "old": <envelope>, "new": <envelope>}
--           | {"user_id", "tenant_id", "legacy_sha256": <hex>, "new": <envelope>}, …]
-- Answers one result per item, in order: {"user_profiles": n, "user_settings": n,
-- "result": "resealed" | "changed" | "refused", "code"?: <SQLSTATE>}.
--  * old -> new: wherever (user, tenant) holds exactly the old envelope, at the same version;
--    "changed" when no table holds it any more (a save came first: it stays).
--  * legacy: the plaintext retell_config.api_key, if its SHA-256 is still legacy_sha256, goes; the key
--    becomes the new envelope at version 1 in both tables (older than any save: whatever a save brings,
--    now or replayed later, wins), or, when user_profiles holds a versioned key already, user_settings
--    takes that one; when user_settings holds a versioned key already, the plaintext is only dropped.
-- Each item is its own subtransaction: a refused one (another tenant, …) leaves the others.
CREATE OR REPLACE FUNCTION public.reseal_retell_keys(p_items jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_item      jsonb;
    v_out       jsonb := '[]'::jsonb;
    v_user      uuid;
    v_tenant    text;
    v_old       text;
    v_new       text;
    v_profiles  integer;
    v_settings  integer;
    v_plain     text;
    v_sversions jsonb;
    v_pkey      text;
    v_pversion  jsonb;
BEGIN
    IF jsonb_typeof(p_items) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'p_items must be a JSON array' USING ERRCODE = '22023';
    END IF;
    FOR v_item IN SELECT e FROM jsonb_array_elements(p_items) AS e LOOP
        v_profiles := 0;
        v_settings := 0;
        BEGIN
            v_user := (v_item ->> 'user_id')::uuid;
            v_tenant := v_item ->> 'tenant_id';
            v_new := v_item ->> 'new';
            v_old := v_item ->> 'old';
            IF v_user IS NULL OR v_tenant IS NULL OR v_new IS NULL
               OR v_new !~ '^v1:[0-9a-f]{8}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$' THEN
                RAISE EXCEPTION 'an item needs user_id, tenant_id and a v1 envelope' USING ERRCODE = '22023';
            END IF;
            IF v_old IS NOT NULL THEN
                PERFORM set_config('agentconfig.reseal', v_old || ' ' || v_new, true);
                UPDATE public.user_profiles p SET encrypted_retell_api_key = v_new
                 WHERE p.user_id = v_user AND p.tenant_id = v_tenant AND p.encrypted_retell_api_key = v_old;
                GET DIAGNOSTICS v_profiles = ROW_COUNT;
                UPDATE public.user_settings s
                   SET encrypted_api_keys = jsonb_set(s.encrypted_api_keys, '{retell_api_key}', to_jsonb(v_new))
                 WHERE s.user_id = v_user AND s.tenant_id = v_tenant AND (s.encrypted_api_keys ->> 'retell_api_key') = v_old;
                GET DIAGNOSTICS v_settings = ROW_COUNT;
                PERFORM set_config('agentconfig.reseal', '', true);
            ELSIF v_item ? 'legacy_sha256' THEN
                -- rows locked in the order every path here uses: user_profiles, then user_settings
                SELECT p.encrypted_retell_api_key, p.field_versions -> 'retellApiKey' INTO v_pkey, v_pversion
                  FROM public.user_profiles p WHERE p.user_id = v_user AND p.tenant_id = v_tenant
                   FOR UPDATE;
                SELECT s.retell_config ->> 'api_key', s.field_versions INTO v_plain, v_sversions
                  FROM public.user_settings s
                 WHERE s.user_id = v_user AND s.tenant_id = v_tenant AND jsonb_typeof(s.retell_config -> 'api_key') = 'string'
                   FOR UPDATE;
                IF v_plain IS NOT NULL
                   AND encode(sha256(convert_to(v_plain, 'UTF8')), 'hex') = (v_item ->> 'legacy_sha256') THEN
                    IF v_sversions ? 'retellApiKey' THEN
                        PERFORM set_config('agentconfig.reseal', 'drop-legacy ' || (v_item ->> 'legacy_sha256'), true);
                        UPDATE public.user_settings s SET retell_config = s.retell_config
                         WHERE s.user_id = v_user AND s.tenant_id = v_tenant;
                        PERFORM set_config('agentconfig.reseal', '', true);
                        v_settings := 1;
                    ELSE
                        IF v_pversion IS NOT NULL THEN
                            PERFORM public.update_user_api_keys(v_user, v_tenant, '{}'::jsonb,
                                jsonb_build_object('retell_api_key', v_pkey), jsonb_build_object('retellApiKey', v_pversion));
                            v_settings := 1;
                        ELSE
                            PERFORM public.update_user_api_keys(v_user, v_tenant, '{}'::jsonb,
                                jsonb_build_object('retell_api_key', v_new), '{"retellApiKey": 1}'::jsonb);
                            INSERT INTO public.user_profiles AS p
                                (user_id, tenant_id, encrypted_retell_api_key, encrypted_agent_config, field_versions, updated_at)
                            VALUES (v_user, v_tenant, v_new, '{}'::jsonb, '{"retellApiKey": 1}'::jsonb, now())
                            ON CONFLICT (user_id) DO UPDATE SET
                                tenant_id = EXCLUDED.tenant_id,
                                encrypted_retell_api_key = EXCLUDED.encrypted_retell_api_key,
                                encrypted_agent_config = EXCLUDED.encrypted_agent_config,
                                field_versions = EXCLUDED.field_versions,
                                updated_at = EXCLUDED.updated_at;
                            v_settings := 1;
                            v_profiles := 1;
                        END IF;
                    END IF;
                END IF;
            ELSE
                RAISE EXCEPTION 'an item needs old or legacy_sha256' USING ERRCODE = '22023';
            END IF;
            v_out := v_out || jsonb_build_array(jsonb_build_object(
                'user_profiles', v_profiles, 'user_settings', v_settings,
                'result', CASE WHEN v_profiles + v_settings > 0 THEN 'resealed' ELSE 'changed' END));
        EXCEPTION WHEN OTHERS THEN
            v_out := v_out || jsonb_build_array(jsonb_build_object(
                'user_profiles', 0, 'user_settings', 0, 'result', 'refused', 'code', SQLSTATE));
        END;
    END LOOP;
    RETURN v_out;
END
$$;

-- ---------------------------------------------------------------------------------------
-- Privileges: the writers only (the owner has them; service_role on Supabase), as V4 does
-- ---------------------------------------------------------------------------------------
REVOKE ALL ON FUNCTION public.retell_key_usage() FROM PUBLIC;
REVOKE ALL ON FUNCTION public.retell_keys_to_reseal(text, uuid, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.reseal_retell_keys(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION agentconfig.reseal_allowed(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION agentconfig.user_profiles_reseal() FROM PUBLIC;
REVOKE ALL ON FUNCTION agentconfig.user_settings_reseal() FROM PUBLIC;

DO $$
DECLARE
    v_role text;
BEGIN
    -- Supabase's default privileges gave anon and authenticated EXECUTE on every new function
    FOREACH v_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('REVOKE ALL ON FUNCTION public.retell_key_usage() FROM %I', v_role);
            EXECUTE format('REVOKE ALL ON FUNCTION public.retell_keys_to_reseal(text, uuid, integer) FROM %I', v_role);
            EXECUTE format('REVOKE ALL ON FUNCTION public.reseal_retell_keys(jsonb) FROM %I', v_role);
            EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA agentconfig FROM %I', v_role);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        -- the rest transport calls the three functions over PostgREST; they run as service_role and need
        -- to update the key columns of user_settings (the settings function writes it otherwise)
        EXECUTE 'GRANT EXECUTE ON FUNCTION public.retell_key_usage() TO service_role';
        EXECUTE 'GRANT EXECUTE ON FUNCTION public.retell_keys_to_reseal(text, uuid, integer) TO service_role';
        EXECUTE 'GRANT EXECUTE ON FUNCTION public.reseal_retell_keys(jsonb) TO service_role';
        EXECUTE 'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA agentconfig TO service_role';
        EXECUTE 'GRANT UPDATE (encrypted_api_keys, retell_config) ON TABLE public.user_settings TO service_role';
    END IF;
END
$$;
