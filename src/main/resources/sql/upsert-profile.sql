INSERT INTO public.user_profiles AS p
    (user_id, tenant_id, encrypted_retell_api_key, encrypted_agent_config, field_versions, updated_at)
VALUES (CAST(:#userId AS uuid), :#tenantId, :#encryptedApiKey, CAST(:#agentConfig AS jsonb),
        CAST(:#fieldVersions AS jsonb), now())
ON CONFLICT (user_id) DO UPDATE SET
    tenant_id = EXCLUDED.tenant_id,
    encrypted_retell_api_key = EXCLUDED.encrypted_retell_api_key,
    encrypted_agent_config = EXCLUDED.encrypted_agent_config,
    field_versions = EXCLUDED.field_versions,
    updated_at = EXCLUDED.updated_at
RETURNING CAST(p.field_versions AS text) AS field_versions
