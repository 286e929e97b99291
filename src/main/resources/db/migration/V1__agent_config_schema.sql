-- agent-config-sync schema, version 1.
--
-- Additive and idempotent: it applies to an empty database and to an existing Supabase
-- database whose user_profiles / user_settings were created the seed's way (an `id`
-- primary key, no field_versions, a plaintext key inside retell_config). Nothing here
-- drops a column or a row. Every name is schema-qualified.

CREATE SCHEMA IF NOT EXISTS agentconfig;

-- ---------------------------------------------------------------------------------------
-- user_profiles: primary store, one row per user.
-- ---------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.user_profiles (
    user_id                  uuid        PRIMARY KEY,
    tenant_id                text        NOT NULL,
    encrypted_retell_api_key text,
    encrypted_agent_config   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    field_versions           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    updated_at               timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.user_profiles ADD COLUMN IF NOT EXISTS tenant_id text;
ALTER TABLE public.user_profiles ADD COLUMN IF NOT EXISTS encrypted_retell_api_key text;
ALTER TABLE public.user_profiles ADD COLUMN IF NOT EXISTS encrypted_agent_config jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE public.user_profiles ADD COLUMN IF NOT EXISTS field_versions jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE public.user_profiles ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();

-- ---------------------------------------------------------------------------------------
-- user_settings: mirror read by other parts of the application.
-- retell_config holds agent ids only; the key lives only in encrypted_api_keys.
-- ---------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.user_settings (
    user_id            uuid        NOT NULL,
    tenant_id          text        NOT NULL,
    retell_config      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    encrypted_api_keys jsonb       NOT NULL DEFAULT '{}'::jsonb,
    field_versions     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    api_key_updated_at timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, tenant_id)
);
ALTER TABLE public.user_settings ADD COLUMN IF NOT EXISTS retell_config jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE public.user_settings ADD COLUMN IF NOT EXISTS encrypted_api_keys jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE public.user_settings ADD COLUMN IF NOT EXISTS field_versions jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE public.user_settings ADD COLUMN IF NOT EXISTS api_key_updated_at timestamptz;
ALTER TABLE public.user_settings ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();

-- The seed's first bug: an upsert without a usable conflict target. Both ON CONFLICT
-- clauses need a unique index on exactly their columns; create one only where no unique
-- constraint or index on those columns exists yet.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = 'public.user_profiles'::regclass AND i.indisunique AND i.indpred IS NULL
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname)
               FROM unnest(i.indkey) k JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k)
              = ARRAY['user_id']) THEN
        CREATE UNIQUE INDEX user_profiles_user_id_key ON public.user_profiles (user_id);
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = 'public.user_settings'::regclass AND i.indisunique AND i.indpred IS NULL
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname)
               FROM unnest(i.indkey) k JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k)
              = ARRAY['tenant_id', 'user_id']) THEN
        CREATE UNIQUE INDEX user_settings_user_id_tenant_id_key ON public.user_settings (user_id, tenant_id);
    END IF;
END
$$;

-- ---------------------------------------------------------------------------------------
-- audit_log: one row per save outcome and per reveal; never a secret.
-- ---------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.audit_log (
    id        bigserial   PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    event     text        NOT NULL,
    tenant_id text,
    user_id   uuid,
    success   boolean     NOT NULL,
    details   jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_user_idx ON public.audit_log (user_id, at);
-- Exposed through PostgREST on Supabase: no policy means only the owner and service role read it.
ALTER TABLE public.audit_log ENABLE ROW LEVEL SECURITY;
