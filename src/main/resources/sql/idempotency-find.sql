-- An Idempotency-Key's record, unless first used before the time given (migration V6)
SELECT CAST(public.save_idempotency_find(?, CAST(? AS uuid), ?, ?) AS text) AS record
