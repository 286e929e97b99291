-- Compare-and-set re-seal of a batch (V5): one result per item, in order
-- Parameters: 1 the items (a JSON array)
SELECT CAST(public.reseal_retell_keys(CAST(? AS jsonb)) AS text) AS results
