package dev.agentconfig.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;

import dev.agentconfig.testing.ServiceTestSupport;
import org.junit.jupiter.api.Test;

/**
 * The embedded PostgreSQL lets nobody in without the password generated into the data dir's
 * secrets: not over TCP, not over its Unix socket, not as the superuser with no password.
 */
class EmbeddedAuthTest extends ServiceTestSupport {

    private String url() {
        return "jdbc:postgresql://127.0.0.1:" + embedded().port() + "/postgres";
    }

    private Path passwordFile() {
        return dataDir.resolve("secrets").resolve("embedded-db-password");
    }

    @Test
    void theServerDemandsAPasswordBeforeAnythingElse() throws IOException {
        // what a client without a password gets from the server itself: an authentication request
        // (10 = SASL, i.e. SCRAM), never AuthenticationOk (0, what trust answers)
        int answer = startupAnswer(embedded().port(), "postgres");
        System.out.println("FIGURE startup as postgres without a password: server answers authentication request "
                + answer + " (0 = ok/trust, 10 = SASL/SCRAM)");
        assertThat(answer).as("authentication request for a client without a password").isEqualTo(10);
    }

    @Test
    void noPasswordOrAWrongOneIsRefusedTheRightOneIsAccepted() throws Exception {
        Properties none = new Properties();
        none.setProperty("user", "postgres");
        SQLException noPassword = catchThrowableOfType(() -> DriverManager.getConnection(url(), none).close(),
                SQLException.class);
        SQLException empty = catchThrowableOfType(() -> DriverManager.getConnection(url(), "postgres", "").close(),
                SQLException.class);
        SQLException wrong = catchThrowableOfType(
                () -> DriverManager.getConnection(url(), "postgres", "not-the-password").close(), SQLException.class);
        System.out.println("FIGURE connect without password: " + describe(noPassword) + "; empty password: "
                + describe(empty) + "; wrong password: " + describe(wrong));
        assertThat((Throwable) noPassword).as("connecting without a password").isNotNull();
        // pgjdbc gives up (08004) as soon as the server asks for a password it does not have or that is
        // empty; that the server asks is shown above (the raw startup), its answer to a wrong one is 28P01
        assertThat(noPassword.getSQLState()).isIn("28P01", "28000", "08004");
        assertThat((Throwable) empty).as("connecting with an empty password").isNotNull();
        assertThat(empty.getSQLState()).isIn("28P01", "28000", "08004");
        assertThat((Throwable) wrong).as("connecting with a wrong password").isNotNull();
        assertThat(wrong.getSQLState()).isEqualTo("28P01");

        String password = Files.readString(passwordFile()).trim();
        assertThat(password).hasSizeGreaterThanOrEqualTo(40);
        try (Connection c = DriverManager.getConnection(url(), "postgres", password);
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_user")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("postgres");
        }
    }

    @Test
    void everyRuleOfTheLoadedHbaFileAsksForScram() throws IOException {
        // the server's view of the pg_hba.conf it loaded, and the file itself
        List<String> methods = query("SELECT DISTINCT auth_method FROM pg_hba_file_rules").stream()
                .map(r -> String.valueOf(r.get("auth_method"))).toList();
        List<String> types = query("SELECT DISTINCT type FROM pg_hba_file_rules").stream()
                .map(r -> String.valueOf(r.get("type"))).toList();
        System.out.println("FIGURE pg_hba_file_rules auth methods " + methods + " for connection types " + types);
        assertThat(methods).containsExactly("scram-sha-256");
        assertThat(types).contains("local", "host");
        List<String> effective = Files.readAllLines(dataDir.resolve("pg").resolve("pg_hba.conf")).stream()
                .map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertThat(effective).isNotEmpty().noneMatch(l -> l.matches(".*\\btrust\\b.*"));

        assertThat(query("SHOW password_encryption").get(0).get("password_encryption")).isEqualTo("scram-sha-256");
        assertThat(String.valueOf(query("SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'")
                .get(0).get("rolpassword"))).startsWith("SCRAM-SHA-256$");
    }

    @Test
    void thePasswordFileIsTheOwnersOnly() throws IOException {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(passwordFile()))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(passwordFile().getParent())))
                .isEqualTo("rwx------");
        // and it never reached the log
        assertThat(logs.text()).doesNotContain(Files.readString(passwordFile()).trim());
    }

    /** Sends a protocol 3.0 StartupMessage and returns the authentication request code of the answer. */
    static int startupAnswer(int port, String user) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            byte[] params = ("user\0" + user + "\0database\0postgres\0\0").getBytes(StandardCharsets.UTF_8);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(8 + params.length);
            out.writeInt(196608);
            out.write(params);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte type = in.readByte();
            int length = in.readInt();
            if (type != 'R') {
                byte[] rest = new byte[length - 4];
                in.readFully(rest);
                throw new IllegalStateException("answer " + (char) type + ": "
                        + new String(rest, StandardCharsets.UTF_8).replace('\0', ' '));
            }
            return in.readInt();
        }
    }

    private static String describe(SQLException e) {
        return e == null ? "ACCEPTED" : "refused " + e.getSQLState() + " (" + e.getMessage() + ")";
    }
}
