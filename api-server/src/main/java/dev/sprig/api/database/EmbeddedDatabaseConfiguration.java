package dev.sprig.api.database;

import com.zaxxer.hikari.HikariDataSource;
import dev.sprig.api.SprigApiProperties;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;

/**
 * Starts PostgreSQL in-process when no external database is configured, so that api-server alone is
 * a complete system on one machine. Its data directory persists across restarts.
 *
 * <p>The server listens on 127.0.0.1 only, with no Unix socket, and every connection must give the
 * superuser's password ({@link SuperuserPassword}, checked with SCRAM by {@link
 * ClientAuthentication}): a superuser can run programs on the machine ({@code COPY … TO PROGRAM}),
 * so no other local user or process may log in as it. A data directory from an api-server that
 * trusted every local connection is upgraded at start: its superuser gets the password first, then
 * the trusting rules are replaced; the data stays where it is.
 */
@Configuration(proxyBeanMethods = false)
@Conditional(NoDatasourceUrlCondition.class)
class EmbeddedDatabaseConfiguration {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabaseConfiguration.class);

    static final String DATABASE = "postgres";
    static final String USER = "postgres";
    /** Above the 16 concurrent requests bulk provisioning tools typically send, so none waits for a connection. */
    static final int POOL_SIZE = 20;

    @Bean
    SuperuserPassword embeddedSuperuserPassword(SprigApiProperties properties) throws IOException {
        Path dataDir = dataDir(properties);
        if (ClientAuthentication.isCurrent(dataDir) && !Files.isRegularFile(dataDir.resolve(SuperuserPassword.FILE))) {
            // a new password would not open it: the server knows only the one that was in the file
            throw new IllegalStateException(dataDir.resolve(SuperuserPassword.FILE)
                    + " is missing: the embedded PostgreSQL in " + dataDir
                    + " lets in only the password it held; restore the file (from a backup of the directory)");
        }
        return SuperuserPassword.of(dataDir);
    }

    @Bean(destroyMethod = "close")
    EmbeddedPostgres embeddedPostgres(SprigApiProperties properties, SuperuserPassword password) throws IOException {
        Path dataDir = dataDir(properties);
        int port = properties.database().embedded().port();
        // A server left running by an api-server that was killed would hold the directory.
        StalePostmaster.stop(dataDir);
        if (!Files.isRegularFile(dataDir.resolve("postgresql.conf"))) {
            return server(dataDir, port, password)
                    // The library passes these to initdb as --pwfile and --auth (after its own
                    // "-A trust", which they override): the superuser has its password and no
                    // connection is trusted from the first moment the server runs.
                    .setLocaleConfig(
                            "pwfile", SuperuserPassword.pendingFile(dataDir).toString())
                    .setLocaleConfig("auth", "scram-sha-256")
                    // runs after initdb, before the server starts
                    .setDataDirectoryCustomizer(dir -> {
                        try {
                            password.keep(dir.toPath());
                            ClientAuthentication.write(dir.toPath());
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    })
                    .start();
        }
        password.keep(dataDir);
        if (!ClientAuthentication.isCurrent(dataDir)) {
            requirePassword(dataDir, port, password);
        }
        return server(dataDir, port, password).start();
    }

    /**
     * Upgrades a data directory whose rules let connections in without a password (older
     * api-servers): starts it once under its old rules to give the superuser the password, which is
     * kept before it is set, then replaces the rules. Every step can run again after a crash.
     */
    private static void requirePassword(Path dataDir, int port, SuperuserPassword password) throws IOException {
        log.warn(
                "PostgreSQL in {} lets local connections in without a password (made by an older api-server);"
                        + " giving its superuser the password in {} and requiring it from now on",
                dataDir,
                SuperuserPassword.FILE);
        try (EmbeddedPostgres old = server(dataDir, port, password).start();
                Connection connection = old.getPostgresDatabase(Map.of("password", password.value()))
                        .getConnection();
                Statement statement = connection.createStatement()) {
            statement.execute("SET password_encryption = 'scram-sha-256'");
            // base64url: nothing in the password needs quoting
            statement.execute("ALTER ROLE " + USER + " WITH PASSWORD '" + password.value() + "'");
        } catch (SQLException e) {
            throw new IOException("could not give the embedded PostgreSQL's superuser its password", e);
        }
        ClientAuthentication.write(dataDir);
    }

    private static EmbeddedPostgres.Builder server(Path dataDir, int port, SuperuserPassword password) {
        return EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setPort(port)
                .setPGStartupWait(Duration.ofSeconds(30))
                // The library's own JVM shutdown hook would stop the server while the context (whose
                // hook runs at the same time) still uses it: background work would then find the pool
                // broken and Hikari's close would sit out its reconnect backoff, up to 5 s. The context
                // closes the server itself, after the pool; one left by a hard kill is stopped above.
                .setRegisterShutdownHook(false)
                .setServerConfig("listen_addresses", "127.0.0.1")
                // JDBC speaks TCP only; a socket (in /tmp, by default) would be one more way in
                .setServerConfig("unix_socket_directories", "")
                .setServerConfig("password_encryption", "scram-sha-256")
                // The library tunes for throw-away test databases (-F, no synchronous commit); this one
                // holds the lineage of every disk, so a committed change must survive power loss.
                .setServerConfig("fsync", "on")
                .setServerConfig("synchronous_commit", "on")
                // for the library's own readiness check
                .setConnectConfig("password", password.value());
    }

    @Bean(destroyMethod = "close")
    DataSource dataSource(EmbeddedPostgres postgres, SuperuserPassword password) {
        var dataSource = new HikariDataSource();
        dataSource.setPoolName("sprig-embedded");
        dataSource.setJdbcUrl(postgres.getJdbcUrl(USER, DATABASE));
        dataSource.setUsername(USER);
        dataSource.setPassword(password.value());
        dataSource.setMaximumPoolSize(POOL_SIZE);
        return dataSource;
    }

    private static Path dataDir(SprigApiProperties properties) {
        return properties.database().embedded().dataDir().toAbsolutePath().normalize();
    }
}
