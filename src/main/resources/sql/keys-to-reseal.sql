-- The rows of the next users whose key is sealed with another key, or who hold a legacy plaintext key (V5)
-- Parameters: 1 the active key id, 2 the last user id of the previous batch (null: from the start), 3 users
SELECT table_name, CAST(user_id AS text) AS user_id, tenant_id, key_value, legacy_key
FROM public.retell_keys_to_reseal(?, CAST(? AS uuid), ?)
