package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The engine stays plain Java: no Spring, JPA or servlet types in its sources. */
class EngineBoundaryTest {

    @Test
    void engineSourcesImportNoFrameworks() throws IOException {
        Path sources = Path.of("src/main/java/dev/sprig/engine");
        List<String> offenders;
        try (Stream<Path> files = Files.walk(sources)) {
            offenders = files.filter(p -> p.toString().endsWith(".java"))
                    .filter(EngineBoundaryTest::importsAFramework)
                    .map(p -> p.getFileName().toString())
                    .toList();
        }
        assertThat(offenders).isEmpty();
    }

    private static boolean importsAFramework(Path file) {
        try {
            return Files.readAllLines(file).stream()
                    .anyMatch(line -> line.startsWith("import org.springframework")
                            || line.startsWith("import jakarta.")
                            || line.startsWith("import javax.persistence")
                            || line.startsWith("import lombok"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
