-- The audit rows of one save of a user, oldest first: its "save" row (index audit_log_save_idx, migration V7)
-- and the "sync" / "sync-abandon" rows that name it in their saveIds (among the user's rows).
-- Parameters: 1 user_id, 2 tenant_id, 3 saveId, 4 not before (ISO-8601)
WITH asked AS (SELECT CAST(? AS uuid) AS user_id, CAST(? AS text) AS tenant_id, CAST(? AS text) AS save_id,
                      CAST(? AS timestamptz) AS not_before)
SELECT a.id, a.at, a.event, a.success, CAST(a.details AS text) AS details
FROM public.audit_log a, asked
WHERE a.user_id = asked.user_id AND a.tenant_id = asked.tenant_id AND a.at >= asked.not_before
  AND ((a.event = 'save' AND a.details ->> 'saveId' = asked.save_id)
       OR (a.event IN ('sync', 'sync-abandon') AND a.details -> 'saveIds' @> jsonb_build_array(asked.save_id)))
ORDER BY a.id
