-- Parameters: 1 user_id, 2 tenant_id (the user AND the tenant: another tenant finds nothing)
SELECT CAST(retell_config AS text) AS retell_config,
       CAST(encrypted_api_keys AS text) AS encrypted_api_keys,
       CAST(field_versions AS text) AS field_versions,
       api_key_updated_at,
       updated_at
FROM public.user_settings
WHERE user_id = CAST(? AS uuid) AND tenant_id = ?
