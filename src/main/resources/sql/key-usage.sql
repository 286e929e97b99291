-- Values per key id in both tables, legacy plaintext keys, foreign values (migration V5)
SELECT CAST(public.retell_key_usage() AS text) AS usage
