-- Last-writer-wins written once in SQL (as core/LastWriterWins in Java and replaces() in the browser client):
-- agentconfig.replaces(new, held) is the one comparison of versions; every function that decides whether a write
-- replaces what a row holds calls it. Before this migration the rule was written twice: in agentconfig.is_newer
-- (V2, V4: the per-field guards of both tables, the settings function and the field history call it) and in
-- public.save_idempotency_record (V6: an Idempotency-Key moves with its save's reversion only to a newer version).
-- Both are redefined here, same signatures and same answers, to call it. Applied migrations stay as they are.
--
-- Privileges as for the other agentconfig functions (V4): nothing to PUBLIC, anon or authenticated; service_role
-- (the rest transport: save_idempotency_record runs as it and calls replaces) gets EXECUTE.
-- Additive and idempotent like V1-V7: pasting it again (the SQL-editor recipe, docs/supabase.md) is harmless.

-- A write at p_new_version replaces what is held at p_held_version only when it is strictly newer; an equal
-- version is the same write again and changes nothing; nothing held (null) is replaced by any version; no
-- version (null) replaces nothing.
CREATE OR REPLACE FUNCTION agentconfig.replaces(p_new_version bigint, p_held_version bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = ''
AS $$
    SELECT p_new_version IS NOT NULL AND (p_held_version IS NULL OR p_new_version > p_held_version)
$$;

-- As V4 (the versions checked before anything is compared), the comparison by agentconfig.replaces.
CREATE OR REPLACE FUNCTION agentconfig.is_newer(p_new_versions jsonb, p_old_versions jsonb, p_field text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    IF p_new_versions IS NOT NULL AND NOT agentconfig.valid_field_versions(p_new_versions) THEN
        RAISE EXCEPTION 'field_versions must be an object of integer versions'
            USING ERRCODE = 'check_violation', HINT = 'e.g. {"callAgentId": 1718000000000}';
    END IF;
    RETURN agentconfig.replaces((p_new_versions ->> p_field)::bigint, (p_old_versions ->> p_field)::bigint);
END
$$;

-- As V6, the version moved by agentconfig.replaces.
CREATE OR REPLACE FUNCTION public.save_idempotency_record(p_tenant_id text, p_user_id uuid, p_key text,
                                                          p_fingerprint text, p_save_id uuid, p_version bigint,
                                                          p_at timestamptz, p_not_before timestamptz,
                                                          p_per_user integer)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    DELETE FROM public.save_idempotency_keys k
     WHERE k.user_id = p_user_id AND k.tenant_id = p_tenant_id AND k.created_at < p_not_before;
    INSERT INTO public.save_idempotency_keys AS k
        (user_id, tenant_id, idempotency_key, fingerprint, save_id, version, created_at)
    VALUES (p_user_id, p_tenant_id, p_key, p_fingerprint, p_save_id, p_version, p_at)
    ON CONFLICT (user_id, tenant_id, idempotency_key) DO UPDATE SET version = EXCLUDED.version
        WHERE k.save_id = EXCLUDED.save_id AND agentconfig.replaces(EXCLUDED.version, k.version);
    DELETE FROM public.save_idempotency_keys k
     WHERE k.user_id = p_user_id AND k.tenant_id = p_tenant_id
       AND k.idempotency_key IN (SELECT o.idempotency_key FROM public.save_idempotency_keys o
                                  WHERE o.user_id = p_user_id AND o.tenant_id = p_tenant_id
                                  ORDER BY o.created_at DESC, o.idempotency_key DESC
                                  OFFSET greatest(p_per_user, 1));
    RETURN public.save_idempotency_find(p_tenant_id, p_user_id, p_key, p_not_before);
END
$$;

REVOKE ALL ON FUNCTION agentconfig.replaces(bigint, bigint) FROM PUBLIC;

DO $$
DECLARE
    v_role text;
BEGIN
    -- Supabase's default privileges gave anon and authenticated EXECUTE on every new function
    FOREACH v_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('REVOKE ALL ON FUNCTION agentconfig.replaces(bigint, bigint) FROM %I', v_role);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        EXECUTE 'GRANT EXECUTE ON FUNCTION agentconfig.replaces(bigint, bigint) TO service_role';
    END IF;
END
$$;
