package dev.agentconfig.transport;

import dev.agentconfig.core.UserKey;

/**
 * A user's rows in the two tables, as the configured transport reads them (routes/read.camel.yaml, bean
 * {@code targetReads}): {@code db/JdbcReads} over the pool, {@code postgrest/PostgrestReads} over PostgREST. A
 * failure is thrown as it is (a SQLException, a {@link ClassifiedFailureException}); the read route turns it into
 * that location's reading.
 */
public interface TargetReads {

    StoredRow<TargetRows.ProfileRecord> profile(UserKey key) throws Exception;

    StoredRow<TargetRows.SettingsRecord> settings(UserKey key) throws Exception;
}
