-- A database shaped like a Supabase project, before this service's migrations (run as a superuser):
-- PostgREST's roles, the auth schema's uid(), and Supabase's default privileges in public.
-- app_owner plays Supabase's "postgres": not a superuser, no BYPASSRLS here (the strict case:
-- it reads and writes only because it owns the tables), and it runs the migrations.
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
-- PostgREST logs in as authenticator and switches to the role of the request's JWT
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;

CREATE ROLE app_owner LOGIN NOSUPERUSER NOBYPASSRLS;
GRANT CREATE ON DATABASE postgres TO app_owner;
GRANT USAGE, CREATE ON SCHEMA public TO app_owner;

CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE
AS $$ SELECT (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $$;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role, app_owner;
GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role;

GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
