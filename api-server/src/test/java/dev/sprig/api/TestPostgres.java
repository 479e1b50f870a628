package dev.sprig.api;

import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * One PostgreSQL server that several clients of a test share (instances of a leader election,
 * api-server processes): the external server the run is configured with
 * ({@code SPRING_DATASOURCE_URL}, as CI's second pass sets it), else the local server on
 * 127.0.0.1:5432 (database {@code test}, user postgres) when it answers, else an embedded server
 * started once for the JVM. Each test takes a fresh schema of its own.
 */
public final class TestPostgres {

    private static Server server;

    private TestPostgres() {}

    /** How to reach the server. */
    public record Server(String url, String user, String password) {

        /** The URL with {@code schema} as the current schema. */
        public String url(String schema) {
            return url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema;
        }

        public Connection connect() throws SQLException {
            return DriverManager.getConnection(url, user, password);
        }

        /** A fresh, empty schema with a unique name starting with {@code prefix}. */
        public String freshSchema(String prefix) {
            String schema =
                    prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
            try (Connection connection = connect();
                    Statement statement = connection.createStatement()) {
                statement.execute("CREATE SCHEMA " + schema);
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
            return schema;
        }

        public void dropSchema(String schema) {
            try (Connection connection = connect();
                    Statement statement = connection.createStatement()) {
                statement.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }

        /** A small pool whose connections work in {@code schema}. */
        public HikariDataSource dataSource(String schema, int poolSize) {
            var dataSource = new HikariDataSource();
            dataSource.setJdbcUrl(url(schema));
            dataSource.setUsername(user);
            dataSource.setPassword(password);
            dataSource.setMaximumPoolSize(poolSize);
            dataSource.setMinimumIdle(0);
            return dataSource;
        }
    }

    public static synchronized Server server() {
        if (server == null) {
            server = find();
        }
        return server;
    }

    private static Server find() {
        String url = System.getenv("SPRING_DATASOURCE_URL");
        if (url != null && !url.isBlank()) {
            return new Server(
                    url,
                    orDefault(System.getenv("SPRING_DATASOURCE_USERNAME"), "postgres"),
                    orDefault(System.getenv("SPRING_DATASOURCE_PASSWORD"), ""));
        }
        Server local = new Server("jdbc:postgresql://127.0.0.1:5432/test", "postgres", "unused");
        try (Connection answers = DriverManager.getConnection(local.url() + "?connectTimeout=2", "postgres", "")) {
            return local;
        } catch (SQLException noLocalServer) {
            return embedded();
        }
    }

    private static Server embedded() {
        try {
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(TestDataDirs.fresh("shared-postgres"))
                    .setCleanDataDirectory(false)
                    .setServerConfig("listen_addresses", "127.0.0.1")
                    .start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    postgres.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }));
            return new Server(postgres.getJdbcUrl("postgres", "postgres"), "postgres", "");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String orDefault(String value, String otherwise) {
        return value == null || value.isBlank() ? otherwise : value;
    }
}
