SELECT CAST(retell_config AS text) AS retell_config,
       CAST(encrypted_api_keys AS text) AS encrypted_api_keys,
       CAST(field_versions AS text) AS field_versions,
       api_key_updated_at,
       updated_at
FROM public.user_settings
WHERE user_id = CAST(:#userId AS uuid) AND tenant_id = :#tenantId
