-- Parameters: 1 user_id, 2 tenant_id (the user AND the tenant: another tenant finds nothing)
SELECT encrypted_retell_api_key,
       CAST(encrypted_agent_config AS text) AS agent_config,
       CAST(field_versions AS text) AS field_versions,
       updated_at
FROM public.user_profiles
WHERE user_id = CAST(? AS uuid) AND tenant_id = ?
