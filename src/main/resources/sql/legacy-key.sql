SELECT s.retell_config ->> 'api_key' AS legacy_key,
       (s.field_versions -> 'retellApiKey') IS NOT NULL
           OR EXISTS (SELECT 1 FROM public.user_profiles p
                      WHERE p.user_id = s.user_id AND (p.field_versions -> 'retellApiKey') IS NOT NULL) AS versioned_key
FROM public.user_settings s
WHERE s.user_id = CAST(:#userId AS uuid) AND s.tenant_id = :#tenantId
