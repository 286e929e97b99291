-- The taken save of a user whose audit row carries a field at a version: the save that wrote the value a table
-- holds (a reversioned save's row carries its final version). Among the user's rows (index audit_log_user_idx).
-- Parameters: 1 user_id, 2 tenant_id, 3 version (text), 4 field name, 5 not before (ISO-8601)
SELECT id, at, event, success, CAST(details AS text) AS details
FROM public.audit_log
WHERE user_id = CAST(? AS uuid) AND tenant_id = ? AND event = 'save' AND success
  AND details ->> 'version' = ? AND details -> 'fields' @> jsonb_build_array(CAST(? AS text))
  AND at >= CAST(? AS timestamptz)
ORDER BY id
LIMIT 1
