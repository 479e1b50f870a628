package dev.sprig.node;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Fresh data directories under target/ (Spring keeps test contexts alive until the JVM exits). */
public final class NodeTestDirs {

    private NodeTestDirs() {}

    public static Path fresh(String name) {
        Path dir = Path.of("target", "it-data", name).toAbsolutePath();
        try {
            if (Files.exists(dir)) {
                try (Stream<Path> files = Files.walk(dir)) {
                    for (Path path : files.sorted(Comparator.reverseOrder()).toList()) {
                        Files.delete(path);
                    }
                }
            }
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
