-- user_profiles: the upsert of upsert-profile.sql for many users in one statement (the sync's batch replay).
-- The guard trigger is FOR EACH ROW: it runs for every row of this multi-row INSERT ... ON CONFLICT DO
-- UPDATE exactly as for a single one, so a field still changes only when its version is newer.
-- Parameters: five text arrays of equal length, one element per entry (no user twice):
-- 1 user_id, 2 tenant_id, 3 encrypted_retell_api_key, 4 encrypted_agent_config, 5 field_versions.
-- Answers each row's user_id and the field_versions it holds afterwards.
INSERT INTO public.user_profiles AS p
    (user_id, tenant_id, encrypted_retell_api_key, encrypted_agent_config, field_versions, updated_at)
SELECT CAST(r.user_id AS uuid), r.tenant_id, r.api_key, CAST(r.agent_config AS jsonb),
       CAST(r.field_versions AS jsonb), now()
FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]))
     AS r(user_id, tenant_id, api_key, agent_config, field_versions)
ON CONFLICT (user_id) DO UPDATE SET
    tenant_id = EXCLUDED.tenant_id,
    encrypted_retell_api_key = EXCLUDED.encrypted_retell_api_key,
    encrypted_agent_config = EXCLUDED.encrypted_agent_config,
    field_versions = EXCLUDED.field_versions,
    updated_at = EXCLUDED.updated_at
RETURNING CAST(p.user_id AS text) AS user_id, CAST(p.field_versions AS text) AS field_versions
