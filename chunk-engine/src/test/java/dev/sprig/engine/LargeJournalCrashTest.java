package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node killed with SIGKILL after its journal grew to 48 MiB (no checkpoint since it opened)
 * reopens in a JVM whose whole heap (32 MiB) is smaller than that journal: replay streams it record
 * by record. Every block holds at least the last flushed cycle, nothing reads as corrupt, and the
 * reopened engine starts from a checkpoint with an empty journal.
 */
class LargeJournalCrashTest {

    private static final long JOURNAL = 48L << 20;

    @TempDir
    Path dir;

    @Test
    void killDashNineWithAJournalLargerThanTheHeapReopensWithEveryFlushedWrite() throws Exception {
        KilledWorker outcome =
                KilledWorker.run(LargeJournalWorker.class, "FLUSHED", 200, dir.toString(), Long.toString(JOURNAL));
        long journalBytes;
        try (Stream<Path> files = Files.list(dir)) {
            journalBytes = files.filter(f -> f.getFileName().toString().startsWith("journal-"))
                    .mapToLong(f -> f.toFile().length())
                    .sum();
        }
        assertThat(journalBytes).as("journal left by the kill").isGreaterThanOrEqualTo(JOURNAL);

        List<String> check = reopenWithHeap("32m");

        assertThat(check).contains("CLEAN true", "JOURNAL 0");
        String[] stamps = check.stream()
                .filter(l -> l.startsWith("STAMPS "))
                .findFirst()
                .orElseThrow()
                .split(" ");
        assertThat(Integer.parseInt(stamps[1]))
                .as("lowest stamp vs last flushed cycle %d", outcome.lastReported())
                .isGreaterThanOrEqualTo(outcome.lastReported());
        assertThat(Integer.parseInt(stamps[2])).isLessThanOrEqualTo(outcome.lastReported() + 1);
    }

    private List<String> reopenWithHeap(String heap) throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process check = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx" + heap,
                        "-cp",
                        classPath,
                        LargeJournalWorker.class.getName(),
                        "check",
                        dir.toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(check.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(check.exitValue()).as(output).isZero();
        return output.lines().toList();
    }
}
