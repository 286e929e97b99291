SELECT CAST(public.update_user_api_keys(CAST(:#userId AS uuid), :#tenantId, CAST(:#retellConfig AS jsonb),
       CAST(:#encryptedApiKeys AS jsonb), CAST(:#fieldVersions AS jsonb)) AS text) AS result
