package dev.agentconfig.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** PostgREST's status and code → the failure classes of the JDBC path, in the one classifier. */
class PostgrestClassificationTest {

    @ParameterizedTest(name = "{0} {1} -> {2} {3}")
    @CsvSource(nullValues = "null", value = {
            // status, code, class, code kept
            "409, 23505, REJECTED, 23505",
            "409, 23503, REJECTED, 23503",
            "400, 42P10, SCHEMA_DRIFT, 42P10",
            "400, PGRST204, SCHEMA_DRIFT, PGRST204",
            "404, PGRST202, SCHEMA_DRIFT, PGRST202",
            "404, PGRST205, SCHEMA_DRIFT, PGRST205",
            "400, 42703, SCHEMA_DRIFT, 42703",
            "404, 42P01, SCHEMA_DRIFT, 42P01",
            "401, 42501, SCHEMA_DRIFT, 42501",
            "403, 42501, SCHEMA_DRIFT, 42501",
            "401, PGRST301, TRANSIENT, PGRST301",
            "401, PGRST303, TRANSIENT, PGRST303",
            "503, PGRST000, TRANSIENT, PGRST000",
            "503, PGRST001, TRANSIENT, PGRST001",
            "503, PGRST002, TRANSIENT, PGRST002",
            "504, PGRST003, TRANSIENT, PGRST003",
            "400, AC409, TENANT_CONFLICT, AC409",
            "400, AC403, REJECTED, AC403",
            "400, 22P02, REJECTED, 22P02",
            "400, 23514, REJECTED, 23514",
            "400, PGRST102, REJECTED, PGRST102",
            "406, PGRST106, SCHEMA_DRIFT, PGRST106",
            "500, XX000, TRANSIENT, XX000",
            "503, 57P01, TRANSIENT, 57P01",
            "502, null, TRANSIENT, http-502",
            "401, null, TRANSIENT, http-401",
            "404, null, SCHEMA_DRIFT, http-404",
            "422, null, REJECTED, http-422"})
    void mapsLikeTheJdbcPath(int status, String code, FailureClass expected, String keptCode) {
        Failure f = Failures.ofPostgrest(status, code, "message");
        assertThat(f.failureClass()).isEqualTo(expected);
        assertThat(f.code()).isEqualTo(keptCode);
    }

    @ParameterizedTest(name = "{0}: stale cache {1}, credentials {2}, out of reach {3}")
    @CsvSource({
            "PGRST204, true, false, false",
            "PGRST202, true, false, false",
            "PGRST205, true, false, false",
            "42703, false, false, false",
            "PGRST301, false, true, true",
            "PGRST303, false, true, true",
            "PGRST001, false, false, true",
            "PGRST003, false, false, true",
            "XX000, false, false, false"})
    void whatEachCodeMeansDownstream(String code, boolean stale, boolean credentials, boolean outOfReach) {
        Failure f = Failures.ofPostgrest(code.startsWith("PGRST3") ? 401 : 400, code, "m");
        assertThat(Failures.staleSchemaCache(f)).isEqualTo(stale);
        assertThat(Failures.credentialsRefused(f)).isEqualTo(credentials);
        assertThat(Failures.outOfReach(f)).isEqualTo(outOfReach);
    }
}
