-- user_profiles: the upsert on user_id (the conflict target the seed lacked). The per-field guard and
-- the tenant guard are the table's trigger (db/migration/V2, V4): a field changes only when this write
-- carries a newer version for it. Answers the field_versions the row holds afterwards.
-- Parameters: 1 user_id, 2 tenant_id, 3 encrypted_retell_api_key, 4 encrypted_agent_config, 5 field_versions
INSERT INTO public.user_profiles AS p
    (user_id, tenant_id, encrypted_retell_api_key, encrypted_agent_config, field_versions, updated_at)
VALUES (CAST(? AS uuid), ?, ?, CAST(? AS jsonb), CAST(? AS jsonb), now())
ON CONFLICT (user_id) DO UPDATE SET
    tenant_id = EXCLUDED.tenant_id,
    encrypted_retell_api_key = EXCLUDED.encrypted_retell_api_key,
    encrypted_agent_config = EXCLUDED.encrypted_agent_config,
    field_versions = EXCLUDED.field_versions,
    updated_at = EXCLUDED.updated_at
RETURNING CAST(p.field_versions AS text) AS field_versions
