-- user_settings: the settings function of settings-rpc.sql called once per entry, in one statement (the
-- sync's batch replay). Each call runs as it does alone (its own ownership check, its own upsert through
-- the per-row guard trigger), and sees what the calls before it wrote.
-- Parameters: five text arrays of equal length, one element per entry:
-- 1 user_id, 2 tenant_id, 3 retell_config, 4 encrypted_api_keys, 5 field_versions.
-- Answers each call's position in the arrays (from 1) and its answer {"success":true,"field_versions":{…}}.
SELECT r.n AS n,
       CAST(public.update_user_api_keys(CAST(r.user_id AS uuid), r.tenant_id, CAST(r.retell_config AS jsonb),
            CAST(r.encrypted_api_keys AS jsonb), CAST(r.field_versions AS jsonb)) AS text) AS result
FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]))
     WITH ORDINALITY AS r(user_id, tenant_id, retell_config, encrypted_api_keys, field_versions, n)
