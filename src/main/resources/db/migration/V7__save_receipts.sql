-- Receipts (GET /api/v1/agent-config/{tenantId}/{userId}/saves/{saveId}): a save's receipt is derived from
-- the audit rows the save already leaves (audit_log, written in the save's transaction on the jdbc
-- transport) and the per-field versions of the tables; nothing more is written per save. This index finds
-- a save's own row by its saveId among a user's rows.
--
-- Additive and idempotent, like every migration here.
CREATE INDEX IF NOT EXISTS audit_log_save_idx ON public.audit_log (user_id, (details ->> 'saveId'));
