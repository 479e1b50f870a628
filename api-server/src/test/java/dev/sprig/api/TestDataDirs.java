package dev.sprig.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Fresh data directories for tests that start api-server on embedded PostgreSQL. They live under
 * target/ rather than a JUnit temp dir because Spring keeps test contexts (and their PostgreSQL)
 * alive until the JVM exits, after JUnit would already have deleted a temp dir under them.
 */
final class TestDataDirs {

    private TestDataDirs() {}

    static Path fresh(String name) {
        Path dir = Path.of("target", "it-data", name).toAbsolutePath();
        try {
            if (Files.exists(dir)) {
                try (Stream<Path> files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(TestDataDirs::delete);
                }
            }
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void delete(Path path) {
        try {
            Files.delete(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Gives a Spring test context its own data: fresh directories for the embedded database and
     * engine, and, when the tests run against an external server (CI does both), a schema of its
     * own in that server, so that contexts never see each other's rows.
     */
    static Path isolate(org.springframework.test.context.DynamicPropertyRegistry registry, String name) {
        Path dir = fresh(name);
        registry.add(
                "sprig.api.database.embedded.data-dir",
                () -> dir.resolve("postgres").toString());
        registry.add(
                "sprig.api.backend.embedded.data-dir",
                () -> dir.resolve("engine").toString());
        registry.add(
                "sprig.api.image-sources.download-dir",
                () -> dir.resolve("downloads").toString());
        if (externalDatabaseConfigured()) {
            String schema = "it_" + name.replaceAll("[^a-z0-9]", "_");
            String url = System.getenv("SPRING_DATASOURCE_URL");
            registry.add(
                    "spring.datasource.url", () -> url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema);
            registry.add("spring.flyway.schemas", () -> schema);
        }
        return dir;
    }

    static boolean externalDatabaseConfigured() {
        String url = System.getenv("SPRING_DATASOURCE_URL");
        return url != null && !url.isBlank();
    }
}
