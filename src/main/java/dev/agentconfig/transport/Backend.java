package dev.agentconfig.transport;

/**
 * The database as the configured transport reaches it (JDBC, or Supabase's PostgREST): what the
 * sync asks before a pass and what the breaker probe asks while a breaker is held open (each
 * transport registers its own health checks). Everything else talks to the database through the routes.
 */
public interface Backend {

    /** The schema can be written: jdbc migrates it (again) if it was not yet; rest trusts the operator. */
    boolean ready();

    /** The database answers right now (a valid pooled connection; PostgREST answers a probe). */
    boolean reachable();

    /**
     * The database went away: connections made before are dead. A pool replaces them now rather than one
     * by one as requests trip over them.
     */
    default void forgetConnections() {
    }

    /**
     * The database answers again: a pool makes sure it holds working connections (new ones) before saves
     * and the drain need them.
     */
    default void reconnect() {
    }
}
