-- The settings function also reports a legacy plaintext key (the seed's retell_config.api_key)
-- that this write did not replace, when no versioned key exists for the user anywhere. The
-- service then seals it and saves it as the user's key, and the trigger removes the plaintext:
-- legacy rows are migrated by the next save without an extra query on every save.
-- Same signature as V2 (privileges are kept by CREATE OR REPLACE).

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
    v_legacy   text;
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
    RETURNING s.field_versions, s.retell_config ->> 'api_key' INTO v_versions, v_legacy;

    IF v_legacy IS NOT NULL AND NOT (v_versions ? 'retellApiKey')
       AND NOT EXISTS (SELECT 1 FROM public.user_profiles p
                       WHERE p.user_id = p_user_id AND p.field_versions ? 'retellApiKey') THEN
        RETURN jsonb_build_object('success', true, 'field_versions', v_versions, 'legacy_api_key', v_legacy);
    END IF;
    RETURN jsonb_build_object('success', true, 'field_versions', v_versions);
END
$$;
