-- user_settings through the SECURITY DEFINER function: {"success":true,"field_versions":{…},"legacy_api_key"?:…}
-- Parameters: 1 user_id, 2 tenant_id, 3 retell_config, 4 encrypted_api_keys, 5 field_versions
SELECT CAST(public.update_user_api_keys(CAST(? AS uuid), ?, CAST(? AS jsonb), CAST(? AS jsonb),
       CAST(? AS jsonb)) AS text) AS result
