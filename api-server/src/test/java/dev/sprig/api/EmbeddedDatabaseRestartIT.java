package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfEnvironmentVariable;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

@DisabledIfEnvironmentVariable(named = "SPRING_DATASOURCE_URL", matches = ".+")
class EmbeddedDatabaseRestartIT {

    @Test
    void metadataInTheEmbeddedDatabaseSurvivesARestart() {
        Path dataDir = TestDataDirs.fresh("restart");

        UUID before;
        try (ConfigurableApplicationContext first = start(dataDir)) {
            before = installationId(first);
        }
        assertThat(dataDir.resolve("PG_VERSION")).exists();

        try (ConfigurableApplicationContext second = start(dataDir)) {
            assertThat(installationId(second)).isEqualTo(before);
            assertThat(second.getBean(JdbcTemplate.class)
                            .queryForObject("SELECT count(*) FROM flyway_schema_history WHERE success", Long.class))
                    .as("migrations are applied once, not again on restart")
                    .isEqualTo(countMigrations());
        }
    }

    private static ConfigurableApplicationContext start(Path dataDir) {
        return new SpringApplicationBuilder(SprigApiApplication.class)
                .run(
                        "--server.port=0",
                        "--sprig.api.database.embedded.data-dir=" + dataDir,
                        "--sprig.api.backend.embedded.data-dir=" + dataDir.resolveSibling("restart-engine"));
    }

    private static UUID installationId(ConfigurableApplicationContext context) {
        return context.getBean(JdbcTemplate.class).queryForObject("SELECT id FROM installation", UUID.class);
    }

    private static long countMigrations() {
        try (var files = Files.list(ApiServerStartupIT.MIGRATIONS)) {
            return files.filter(f -> f.getFileName().toString().matches("V\\d+__.+\\.sql"))
                    .count();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
