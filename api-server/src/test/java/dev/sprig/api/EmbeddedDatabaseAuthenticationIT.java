package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfEnvironmentVariable;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The embedded PostgreSQL lets in only who gives the superuser's password, which api-server
 * generates at the first start and keeps, owner-only, in the data directory. Checked from outside
 * with psql, the client an intruder on the machine would use, and with JDBC.
 */
@DisabledIfEnvironmentVariable(named = "SPRING_DATASOURCE_URL", matches = ".+")
class EmbeddedDatabaseAuthenticationIT {

    @Test
    void aNewDatabaseRefusesConnectionsWithoutItsPasswordAndKeepsItsPasswordAcrossRestarts() throws Exception {
        Path dataDir = TestDataDirs.fresh("db-auth-new").resolve("postgres");

        UUID installation;
        try (ConfigurableApplicationContext first = start(dataDir)) {
            int port = port(first);
            Path passwordFile = dataDir.resolve("sprig-password");
            assertThat(Files.getPosixFilePermissions(passwordFile))
                    .as("the password is readable by its owner only")
                    .isEqualTo(PosixFilePermissions.fromString("rw-------"));
            String password = Files.readString(passwordFile).strip();

            assertThat(psql(port, null, "SELECT 1").exitCode)
                    .as("psql -h 127.0.0.1 -U postgres without a password is refused")
                    .isNotZero();
            assertThat(psql(port, "wrong-" + password, "SELECT 1").output).contains("password authentication failed");
            assertThatThrownBy(() -> connect(port, "wrong"))
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("password authentication failed");
            Psql allowed = psql(port, password, "SELECT count(*) FROM installation");
            assertThat(allowed.exitCode).as(allowed.output).isZero();
            assertThat(allowed.output.strip()).isEqualTo("1");
            assertThat(Path.of("/tmp/.s.PGSQL." + port))
                    .as("no Unix socket: the server listens on 127.0.0.1 only")
                    .doesNotExist();
            installation = installationId(first);
        }
        assertThat(dataDir.resolveSibling(".postgres.sprig-password")).doesNotExist();

        try (ConfigurableApplicationContext second = start(dataDir)) {
            assertThat(installationId(second)).isEqualTo(installation);
            assertThat(psql(port(second), null, "SELECT 1").exitCode).isNotZero();
        }

        Path passwordFile = dataDir.resolve("sprig-password");
        Path aside = Files.move(passwordFile, dataDir.resolveSibling("password-backup"));
        assertThatThrownBy(() -> start(dataDir))
                .as("a lost password file is named, not replaced by a password the server does not know")
                .hasStackTraceContaining(passwordFile + " is missing");
        Files.move(aside, passwordFile);
        try (ConfigurableApplicationContext restored = start(dataDir)) {
            assertThat(installationId(restored)).isEqualTo(installation);
        }
    }

    @Test
    void aDatabaseThatTrustedLocalConnectionsIsUpgradedInPlaceAndKeepsItsData() throws Exception {
        Path dataDir = TestDataDirs.fresh("db-auth-old").resolve("postgres");
        // what api-servers before the password made: the library's initdb, which trusts every local
        // connection, and no password file
        try (EmbeddedPostgres old = EmbeddedPostgres.builder()
                        .setDataDirectory(dataDir)
                        .setCleanDataDirectory(false)
                        .setServerConfig("listen_addresses", "127.0.0.1")
                        .start();
                Connection connection = old.getPostgresDatabase().getConnection();
                Statement statement = connection.createStatement()) {
            assertThat(psql(old.getPort(), null, "SELECT 1").exitCode)
                    .as("the old rules let anyone in")
                    .isZero();
            statement.execute("CREATE SCHEMA earlier");
            statement.execute("CREATE TABLE earlier.kept_from_before (note text)");
            statement.execute("INSERT INTO earlier.kept_from_before VALUES ('still here')");
        }
        assertThat(dataDir.resolve("sprig-password")).doesNotExist();

        try (ConfigurableApplicationContext upgraded = start(dataDir)) {
            int port = port(upgraded);
            String password =
                    Files.readString(dataDir.resolve("sprig-password")).strip();
            assertThat(Files.getPosixFilePermissions(dataDir.resolve("sprig-password")))
                    .isEqualTo(PosixFilePermissions.fromString("rw-------"));
            assertThat(psql(port, null, "SELECT 1").exitCode)
                    .as("without the password: refused")
                    .isNotZero();
            assertThatThrownBy(() -> connect(port, "wrong")).isInstanceOf(SQLException.class);
            try (Connection connection = connect(port, password);
                    Statement statement = connection.createStatement();
                    var rows = statement.executeQuery("SELECT note FROM earlier.kept_from_before")) {
                assertThat(rows.next()).isTrue();
                assertThat(rows.getString(1)).isEqualTo("still here");
            }
            assertThat(upgraded.getBean(JdbcTemplate.class)
                            .queryForObject("SELECT count(*) FROM installation", Long.class))
                    .as("api-server itself runs on the upgraded database")
                    .isEqualTo(1L);
        }

        try (ConfigurableApplicationContext again = start(dataDir)) {
            assertThat(psql(port(again), null, "SELECT 1").exitCode).isNotZero();
            assertThat(again.getBean(JdbcTemplate.class)
                            .queryForObject("SELECT note FROM earlier.kept_from_before", String.class))
                    .isEqualTo("still here");
        }
    }

    private static ConfigurableApplicationContext start(Path dataDir) {
        return new SpringApplicationBuilder(SprigApiApplication.class)
                .run(
                        "--server.port=0",
                        "--sprig.api.database.embedded.data-dir=" + dataDir,
                        "--sprig.api.backend.embedded.data-dir=" + dataDir.resolveSibling("engine"));
    }

    private static int port(ConfigurableApplicationContext context) {
        return context.getBean(EmbeddedPostgres.class).getPort();
    }

    private static UUID installationId(ConfigurableApplicationContext context) {
        return context.getBean(JdbcTemplate.class).queryForObject("SELECT id FROM installation", UUID.class);
    }

    private static Connection connect(int port, String password) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", password);
    }

    private record Psql(int exitCode, String output) {}

    /** Runs psql against 127.0.0.1 as the superuser, with {@code password} or none, never prompting. */
    private static Psql psql(int port, String password, String sql) throws IOException, InterruptedException {
        var builder = new ProcessBuilder(
                        "psql",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        Integer.toString(port),
                        "-U",
                        "postgres",
                        "-d",
                        "postgres",
                        "-w",
                        "-tA",
                        "-c",
                        sql)
                .redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.remove("PGPASSWORD");
        env.put("PGPASSFILE", "/dev/null");
        if (password != null) {
            env.put("PGPASSWORD", password);
        }
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Psql(process.exitValue(), output);
    }
}
