-- Records an Idempotency-Key for a save (first save keeps it); answers what it stands for now (migration V6)
SELECT CAST(public.save_idempotency_record(?, CAST(? AS uuid), ?, ?, CAST(? AS uuid), ?, ?, ?, ?) AS text) AS record
