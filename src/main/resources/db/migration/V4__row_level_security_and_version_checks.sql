-- Row-level security on the service's tables, and field_versions that can only hold integers.
--
-- On Supabase every table in `public` is reachable through PostgREST with the anon key that
-- ships in every browser; a table without row-level security is open to all of them (the
-- security advisor's rls_disabled_in_public). After this migration:
--  * anon: no privilege on user_profiles, user_settings, audit_log or its sequence;
--  * authenticated: SELECT only, and the policies let a user read only their own row
--    (auth.uid() = user_id); no INSERT/UPDATE/DELETE/TRUNCATE; settings changes go through
--    public.update_user_api_keys (SECURITY DEFINER, ownership check of V2);
--  * the table owner (the role that runs these migrations, the jdbc transport's role) bypasses
--    row-level security because it is NOT forced: FORCE would subject the owner, and with it the
--    SECURITY DEFINER settings function, to policies that allow no write at all;
--  * service_role (the rest transport's key, BYPASSRLS on Supabase) keeps what the service needs.
-- Both kinds of direct writer still go through the guard triggers of V2.
--
-- Additive and idempotent like V1-V3: it applies to an empty database, to a database where the
-- migrations were pasted by hand (Flyway then baselines at 0 and applies them all again), and to
-- a plain PostgreSQL without Supabase's roles (the role-specific parts are skipped). Nothing here
-- drops a column, a row or a policy it did not create; the one change to existing data is the
-- removal of version entries that are not integers (see below), none on a database this service
-- alone has written.

-- ---------------------------------------------------------------------------------------
-- field_versions: an object whose values are JSON integers within bigint range.
-- A non-integer version (a string, 1.5, "abc") used to be stored as it came and then made every
-- later save of that field fail in agentconfig.is_newer (invalid input syntax for type bigint).
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION agentconfig.valid_field_versions(p_versions jsonb)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = ''
AS $$
BEGIN
    -- Runs on every write of both tables (the CHECK constraints and the guards), so no query
    -- unless a value might have been written with a fraction: plpgsql evaluates these simple
    -- expressions without the executor, where a SQL function's body is planned per statement.
    IF jsonb_typeof(p_versions) <> 'object' THEN
        RETURN false;
    END IF;
    -- every value a number, integral and within bigint
    IF jsonb_path_exists(p_versions, 'strict $.* ? (@.type() != "number" || @ != @.floor()'
                                     ' || @ > 9223372036854775807 || @ < -9223372036854775808)') THEN
        RETURN false;
    END IF;
    -- and none written with a fraction: 1.0 is integral, but its text is no bigint literal
    -- (1e2 is stored as 100)
    IF strpos(p_versions::text, '.') = 0 THEN
        RETURN true;
    END IF;
    RETURN NOT EXISTS (SELECT 1 FROM jsonb_each(p_versions) AS e WHERE strpos(e.value::text, '.') > 0);
END
$$;

-- The guards compare versions here. A write whose versions are not valid is refused with the
-- CHECK constraint's SQLSTATE (23514) before anything is compared: on INSERT the constraint
-- below refuses it, on UPDATE (and an upsert's conflict) this function does, because the BEFORE
-- trigger runs before any CHECK. Same signature as V2.
CREATE OR REPLACE FUNCTION agentconfig.is_newer(p_new_versions jsonb, p_old_versions jsonb, p_field text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    IF p_new_versions IS NOT NULL AND NOT agentconfig.valid_field_versions(p_new_versions) THEN
        RAISE EXCEPTION 'field_versions must be an object of integer versions'
            USING ERRCODE = 'check_violation', HINT = 'e.g. {"callAgentId": 1718000000000}';
    END IF;
    RETURN (p_new_versions ->> p_field) IS NOT NULL
       AND ((p_old_versions ->> p_field) IS NULL
            OR (p_new_versions ->> p_field)::bigint > (p_old_versions ->> p_field)::bigint);
END
$$;

-- A row that already holds an invalid version (written directly before this migration) would
-- fail every later save of its user and keep the constraint from being validated: drop the
-- invalid entries (the field's value stays; without a version the next versioned save of it
-- wins). The guard triggers would keep the old versions, so they are off for this one update;
-- the ALTER TABLE lock keeps every other writer out until the migration commits. Nothing
-- happens (no lock beyond the constraint's) when every row is valid.
CREATE OR REPLACE FUNCTION agentconfig.valid_field_versions_only(p_versions jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = ''
AS $$
    SELECT CASE WHEN jsonb_typeof(p_versions) IS DISTINCT FROM 'object' THEN '{}'::jsonb
                ELSE coalesce((SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(p_versions) AS e
                               WHERE agentconfig.valid_field_versions(jsonb_build_object(e.key, e.value))),
                              '{}'::jsonb)
           END
$$;

DO $$
DECLARE
    v_table   text;
    v_invalid bigint;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['user_profiles', 'user_settings'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_constraint
                       WHERE conrelid = format('public.%I', v_table)::regclass
                         AND conname = v_table || '_field_versions_valid') THEN
            EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I '
                           'CHECK (agentconfig.valid_field_versions(field_versions)) NOT VALID',
                           v_table, v_table || '_field_versions_valid');
        END IF;
        EXECUTE format('SELECT count(*) FROM public.%I WHERE NOT agentconfig.valid_field_versions(field_versions)',
                       v_table) INTO v_invalid;
        IF v_invalid > 0 THEN
            EXECUTE format('ALTER TABLE public.%I DISABLE TRIGGER %I', v_table, v_table || '_guard');
            EXECUTE format('UPDATE public.%I SET field_versions = agentconfig.valid_field_versions_only(field_versions) '
                           'WHERE NOT agentconfig.valid_field_versions(field_versions)', v_table);
            EXECUTE format('ALTER TABLE public.%I ENABLE TRIGGER %I', v_table, v_table || '_guard');
            RAISE WARNING 'public.%: invalid field_versions entries removed from % row(s)', v_table, v_invalid;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conrelid = format('public.%I', v_table)::regclass
                     AND conname = v_table || '_field_versions_valid' AND NOT convalidated) THEN
            EXECUTE format('ALTER TABLE public.%I VALIDATE CONSTRAINT %I', v_table, v_table || '_field_versions_valid');
        END IF;
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------------------
-- Row-level security: on for all three tables, never FORCEd (see the header).
-- ---------------------------------------------------------------------------------------
ALTER TABLE public.user_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.audit_log ENABLE ROW LEVEL SECURITY;

-- Nobody gets these tables through PUBLIC (anon and authenticated are members of it).
REVOKE ALL ON TABLE public.user_profiles, public.user_settings, public.audit_log FROM PUBLIC;

-- The agentconfig functions are the guards' internals, not an API: only the roles that write
-- the tables directly need them. The guard triggers run as the writer and call
-- agentconfig.is_newer / assert_single_tenant by name (USAGE on the schema and EXECUTE needed),
-- the CHECK constraints call agentconfig.valid_field_versions (EXECUTE needed). The writers
-- are the owner (has both) and service_role (granted below). The settings function runs as
-- its owner, so an authenticated caller needs neither. V2 granted USAGE to PUBLIC.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA agentconfig FROM PUBLIC;
REVOKE USAGE ON SCHEMA agentconfig FROM PUBLIC;

DO $$
DECLARE
    v_sequence  text := pg_get_serial_sequence('public.audit_log', 'id');
    v_table     text;
    v_end_users text;
    v_policies  boolean := false;
BEGIN
    -- Policies need Supabase's auth.uid(), usable by the migrating role (it owns the policies).
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'auth') THEN
        IF has_schema_privilege('auth', 'USAGE') THEN
            v_policies := to_regprocedure('auth.uid()') IS NOT NULL;
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
        -- Supabase's default privileges gave anon ALL on every table, sequence and function.
        EXECUTE 'REVOKE ALL ON TABLE public.user_profiles, public.user_settings, public.audit_log FROM anon';
        IF v_sequence IS NOT NULL THEN
            EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM anon', v_sequence);
        END IF;
        EXECUTE 'REVOKE ALL ON ALL FUNCTIONS IN SCHEMA agentconfig FROM anon';
        EXECUTE 'REVOKE ALL ON SCHEMA agentconfig FROM anon';
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        -- No direct write: REVOKE ALL, then SELECT back below where a policy gives it meaning.
        EXECUTE 'REVOKE ALL ON TABLE public.user_profiles, public.user_settings, public.audit_log FROM authenticated';
        IF v_sequence IS NOT NULL THEN
            EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM authenticated', v_sequence);
        END IF;
        EXECUTE 'REVOKE ALL ON ALL FUNCTIONS IN SCHEMA agentconfig FROM authenticated';
        EXECUTE 'REVOKE ALL ON SCHEMA agentconfig FROM authenticated';

        IF v_policies THEN
            v_end_users := CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon')
                                THEN 'anon, authenticated' ELSE 'authenticated' END;
            FOREACH v_table IN ARRAY ARRAY['user_profiles', 'user_settings'] LOOP
                EXECUTE format('GRANT SELECT ON TABLE public.%I TO authenticated', v_table);
                -- an end user reads their own row
                EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', v_table || '_read_own', v_table);
                EXECUTE format('CREATE POLICY %I ON public.%I AS PERMISSIVE FOR SELECT TO authenticated '
                               'USING ((SELECT auth.uid()) = user_id)', v_table || '_read_own', v_table);
                -- and nothing more, whatever other (permissive) policy or grant exists or comes:
                -- restrictive policies are ANDed with every permissive one
                EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', v_table || '_end_users_own_rows_no_writes', v_table);
                EXECUTE format('CREATE POLICY %I ON public.%I AS RESTRICTIVE FOR ALL TO %s '
                               'USING ((SELECT auth.uid()) = user_id) WITH CHECK (false)',
                               v_table || '_end_users_own_rows_no_writes', v_table, v_end_users);
                EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', v_table || '_end_users_no_delete', v_table);
                EXECUTE format('CREATE POLICY %I ON public.%I AS RESTRICTIVE FOR DELETE TO %s USING (false)',
                               v_table || '_end_users_no_delete', v_table, v_end_users);
            END LOOP;
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        -- The rest transport: upsert and read user_profiles, read user_settings (written through
        -- the settings function), append to audit_log; its writes fire the guards as service_role.
        EXECUTE 'GRANT SELECT, INSERT, UPDATE ON TABLE public.user_profiles TO service_role';
        EXECUTE 'GRANT SELECT ON TABLE public.user_settings TO service_role';
        EXECUTE 'GRANT SELECT, INSERT ON TABLE public.audit_log TO service_role';
        IF v_sequence IS NOT NULL THEN
            EXECUTE format('GRANT USAGE ON SEQUENCE %s TO service_role', v_sequence);
        END IF;
        EXECUTE 'GRANT USAGE ON SCHEMA agentconfig TO service_role';
        EXECUTE 'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA agentconfig TO service_role';
    END IF;
END
$$;
