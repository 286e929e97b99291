-- A database shaped the way the seed's application left it (an existing Supabase project):
-- user_profiles keyed by a surrogate id with user_id unique (the 409 trap), user_settings without
-- api_key_updated_at (the PGRST204 column) and without a unique (user_id, tenant_id), the
-- plaintext key inside retell_config, Supabase's roles, and the seed's insecure function.
CREATE ROLE anon NOLOGIN;
CREATE ROLE authenticated NOLOGIN;
CREATE ROLE plain_role NOLOGIN;

CREATE TABLE public.user_profiles (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                  uuid NOT NULL UNIQUE,
    tenant_id                text,
    display_name             text,
    encrypted_retell_api_key text,
    encrypted_agent_config   jsonb DEFAULT '{}'::jsonb,
    created_at               timestamptz DEFAULT now(),
    updated_at               timestamptz DEFAULT now()
);

CREATE TABLE public.user_settings (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL,
    tenant_id          text NOT NULL,
    retell_config      jsonb,
    encrypted_api_keys jsonb,
    theme              text,
    created_at         timestamptz DEFAULT now(),
    updated_at         timestamptz DEFAULT now()
);

INSERT INTO public.user_profiles (user_id, tenant_id, display_name, encrypted_retell_api_key, encrypted_agent_config)
VALUES ('11111111-2222-4333-8444-555555555555', 'acme', 'Seed User', NULL, '{}'),
       ('66666666-7777-4888-9999-000000000000', 'globex', 'Other User', NULL, '{}');

INSERT INTO public.user_settings (user_id, tenant_id, retell_config, encrypted_api_keys, theme)
VALUES ('11111111-2222-4333-8444-555555555555', 'acme',
        '{"api_key": "key_TESTSECRET_seedlegacy0001", "call_agent_id": "agent_seed_call", "sms_agent_id": "agent_seed_sms"}',
        '{}', 'dark');

CREATE FUNCTION update_user_api_keys(p_user_id uuid, p_tenant_id text, p_retell_config jsonb, p_encrypted_api_keys jsonb)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  INSERT INTO user_settings (user_id, tenant_id, retell_config, encrypted_api_keys, updated_at)
  VALUES (p_user_id, p_tenant_id, p_retell_config, p_encrypted_api_keys, NOW());
  RETURN jsonb_build_object('success', true);
END;
$$;
GRANT EXECUTE ON FUNCTION update_user_api_keys TO authenticated;
