-- Idempotency-Keys remembered per user, durably (docs/api.md#idempotency-key): a client that retries a save
-- with its key gets the first save's saveId and version back, after a restart of the service too, and no
-- other user's keys can push its key out. A row holds what the key stands for: a keyed fingerprint of the
-- save's content (HMAC under a key derived from the service's encryption key: never the content, never the
-- API key), the saveId and version the save was given, and when the key was first used. Rows older than
-- agentconfig.save.idempotency-ttl are not used any more and are deleted at the user's next keyed save; a
-- user keeps at most agentconfig.save.idempotency-per-user of them (the oldest go first).
--
-- Both transports use the two functions below: a select over JDBC (the save's key in the save's own
-- transaction), POST /rest/v1/rpc/<name> over PostgREST.
--
-- Row-level security as in V4: on, not forced, no policy at all, nothing granted to PUBLIC, anon or
-- authenticated (they can neither read nor write it); the table owner (jdbc) and service_role (rest) only.
-- Additive and idempotent like V1-V5: pasting it again (the SQL-editor recipe, docs/supabase.md) is harmless.

CREATE TABLE IF NOT EXISTS public.save_idempotency_keys (
    user_id         uuid        NOT NULL,
    tenant_id       text        NOT NULL,
    idempotency_key text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    fingerprint     text        NOT NULL,
    save_id         uuid        NOT NULL,
    version         bigint      NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (user_id, tenant_id, idempotency_key)
);

-- a user's keys, newest first: the per-user bound and expiry
CREATE INDEX IF NOT EXISTS save_idempotency_keys_by_age
    ON public.save_idempotency_keys (user_id, tenant_id, created_at DESC);

ALTER TABLE public.save_idempotency_keys ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE public.save_idempotency_keys FROM PUBLIC;

-- {"idempotency_key", "fingerprint", "save_id", "version", "created_at"} of a key not older than
-- p_not_before, or null
CREATE OR REPLACE FUNCTION public.save_idempotency_find(p_tenant_id text, p_user_id uuid, p_key text,
                                                        p_not_before timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = ''
AS $$
    SELECT jsonb_build_object('idempotency_key', k.idempotency_key, 'fingerprint', k.fingerprint,
                              'save_id', k.save_id, 'version', k.version, 'created_at', k.created_at)
      FROM public.save_idempotency_keys k
     WHERE k.user_id = p_user_id AND k.tenant_id = p_tenant_id AND k.idempotency_key = p_key
       AND k.created_at >= p_not_before
$$;

-- Records a key for a save and answers what the key stands for now (as save_idempotency_find; null only when
-- the user's bound dropped this very record at once, being older than p_per_user others). The first save of
-- a key keeps it; the same save written again at a newer version (a clock ahead of the service's) moves the
-- version. The user's expired keys and those beyond p_per_user, oldest first, go.
CREATE OR REPLACE FUNCTION public.save_idempotency_record(p_tenant_id text, p_user_id uuid, p_key text,
                                                          p_fingerprint text, p_save_id uuid, p_version bigint,
                                                          p_at timestamptz, p_not_before timestamptz,
                                                          p_per_user integer)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    DELETE FROM public.save_idempotency_keys k
     WHERE k.user_id = p_user_id AND k.tenant_id = p_tenant_id AND k.created_at < p_not_before;
    INSERT INTO public.save_idempotency_keys AS k
        (user_id, tenant_id, idempotency_key, fingerprint, save_id, version, created_at)
    VALUES (p_user_id, p_tenant_id, p_key, p_fingerprint, p_save_id, p_version, p_at)
    ON CONFLICT (user_id, tenant_id, idempotency_key) DO UPDATE SET version = EXCLUDED.version
        WHERE k.save_id = EXCLUDED.save_id AND k.version < EXCLUDED.version;
    DELETE FROM public.save_idempotency_keys k
     WHERE k.user_id = p_user_id AND k.tenant_id = p_tenant_id
       AND k.idempotency_key IN (SELECT o.idempotency_key FROM public.save_idempotency_keys o
                                  WHERE o.user_id = p_user_id AND o.tenant_id = p_tenant_id
                                  ORDER BY o.created_at DESC, o.idempotency_key DESC
                                  OFFSET greatest(p_per_user, 1));
    RETURN public.save_idempotency_find(p_tenant_id, p_user_id, p_key, p_not_before);
END
$$;

REVOKE ALL ON FUNCTION public.save_idempotency_find(text, uuid, text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.save_idempotency_record(text, uuid, text, text, uuid, bigint, timestamptz, timestamptz, integer) FROM PUBLIC;

DO $$
DECLARE
    v_role text;
BEGIN
    -- Supabase's default privileges gave anon and authenticated ALL on every new table and function
    FOREACH v_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('REVOKE ALL ON TABLE public.save_idempotency_keys FROM %I', v_role);
            EXECUTE format('REVOKE ALL ON FUNCTION public.save_idempotency_find(text, uuid, text, timestamptz) FROM %I', v_role);
            EXECUTE format('REVOKE ALL ON FUNCTION public.save_idempotency_record(text, uuid, text, text, uuid, bigint, '
                           'timestamptz, timestamptz, integer) FROM %I', v_role);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        -- the rest transport calls both functions; they run as service_role
        EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.save_idempotency_keys TO service_role';
        EXECUTE 'GRANT EXECUTE ON FUNCTION public.save_idempotency_find(text, uuid, text, timestamptz) TO service_role';
        EXECUTE 'GRANT EXECUTE ON FUNCTION public.save_idempotency_record(text, uuid, text, text, uuid, bigint, '
                'timestamptz, timestamptz, integer) TO service_role';
    END IF;
END
$$;
