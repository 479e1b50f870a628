package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Boots the whole api-server with no configuration but a data directory: on embedded PostgreSQL by
 * default, or on the external server named by SPRING_DATASOURCE_URL when that is set (CI does both).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class ApiServerStartupIT {

    static final Path MIGRATIONS = Path.of("..", "db", "migrations");
    static final Path COMMITTED_CONTRACT = Path.of("..", "openapi", "sprig-api.json");
    static final JsonMapper JSON = JsonMapper.builder().build();

    /** openapi/sprig-api.json, which this test keeps equal to what api-server serves. */
    static JsonNode committedContract() {
        try {
            return JSON.readTree(Files.readString(COMMITTED_CONTRACT));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @DynamicPropertySource
    static void dataDir(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "startup");
    }

    @LocalServerPort
    int port;

    @Autowired
    ApplicationContext context;

    @Autowired
    Flyway flyway;

    @Autowired
    JdbcTemplate jdbc;

    final HttpClient http =
            HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build();

    @Test
    void healthIsUpWithLivenessAndReadinessGroups() throws Exception {
        assertThat(json(get("/actuator/health")).path("status").asString()).isEqualTo("UP");
        assertThat(json(get("/actuator/health/liveness")).path("status").asString())
                .isEqualTo("UP");
        assertThat(json(get("/actuator/health/readiness")).path("status").asString())
                .isEqualTo("UP");
    }

    @Test
    void everyMigrationInDbMigrationsIsApplied() throws IOException {
        MigrationVersion newestOnDisk;
        long filesOnDisk;
        try (Stream<Path> files = Files.list(MIGRATIONS)) {
            var versions = files.map(file -> file.getFileName().toString())
                    .filter(name -> name.matches("V\\d+__.+\\.sql"))
                    .map(name -> MigrationVersion.fromVersion(name.substring(1, name.indexOf("__"))))
                    .toList();
            newestOnDisk = versions.stream().max(Comparator.naturalOrder()).orElseThrow();
            filesOnDisk = versions.size();
        }

        assertThat(flyway.info().current().getVersion()).isEqualTo(newestOnDisk);
        assertThat(jdbc.queryForObject(
                        "SELECT count(*) FROM flyway_schema_history WHERE success AND version IS NOT NULL", Long.class))
                .isEqualTo(filesOnDisk);
    }

    @Test
    void openApiDocumentIsServedAndMatchesTheCommittedContract() throws Exception {
        HttpResponse<String> response = get("/v3/api-docs");
        assertThat(response.statusCode()).isEqualTo(200);
        ObjectNode served = (ObjectNode) json(response);
        assertThat(served.path("openapi").asString()).startsWith("3.");
        assertThat(served.path("info").path("title").asString()).isEqualTo("Sprig API");

        // The server URL names this test's random port; the contract is everything else.
        served.remove("servers");
        String pretty = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(served) + "\n";
        Files.writeString(Path.of("target", "sprig-api.json"), pretty);
        assertThat(COMMITTED_CONTRACT)
                .as("openapi/sprig-api.json is stale: copy api-server/target/sprig-api.json over it")
                .exists();
        assertThat(JSON.readTree(Files.readString(COMMITTED_CONTRACT))).isEqualTo(served);
    }

    @Test
    void swaggerUiIsServed() throws Exception {
        HttpResponse<String> response = get("/swagger-ui.html");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("swagger-ui");
    }

    @Test
    void usesTheExternalDatabaseWhenConfiguredAndStartsNoEmbeddedOne() {
        String url = jdbc.queryForObject("SELECT current_database()", String.class);
        if (TestDataDirs.externalDatabaseConfigured()) {
            assertThat(context.getBeansOfType(EmbeddedPostgres.class)).isEmpty();
            assertThat(System.getenv("SPRING_DATASOURCE_URL")).contains("/" + url);
        } else {
            assertThat(context.getBeansOfType(EmbeddedPostgres.class)).hasSize(1);
            EmbeddedPostgres embedded = context.getBean(EmbeddedPostgres.class);
            assertThat(context.getBean(DataSource.class))
                    .extracting(ds -> ((com.zaxxer.hikari.HikariDataSource) ds).getJdbcUrl())
                    .asString()
                    .contains(":" + embedded.getPort() + "/");
        }
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> response) {
        return JSON.readTree(response.body());
    }
}
