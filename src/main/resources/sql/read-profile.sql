SELECT encrypted_retell_api_key,
       CAST(encrypted_agent_config AS text) AS agent_config,
       CAST(field_versions AS text) AS field_versions,
       updated_at
FROM public.user_profiles
WHERE user_id = CAST(:#userId AS uuid) AND tenant_id = :#tenantId
