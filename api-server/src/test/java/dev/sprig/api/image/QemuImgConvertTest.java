package dev.sprig.api.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A conversion is stopped, qemu-img killed, at its first progress step after the operation was
 * cancelled: a cancelled import leaves no qemu-img running to its end.
 */
class QemuImgConvertTest {

    @TempDir
    Path dir;

    @Test
    void aConversionWhoseProgressThrowsKillsQemuImgAtOnce() throws Exception {
        // qemu-img opening a FIFO no one writes to waits for ever: a conversion that never ends
        Path source = dir.resolve("never.raw");
        Process mkfifo = new ProcessBuilder("mkfifo", source.toString()).start();
        assertThat(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0)
                .isTrue();
        AtomicInteger steps = new AtomicInteger();
        RuntimeException cancelled = new IllegalStateException("cancelled");

        assertTimeoutPreemptively(
                Duration.ofSeconds(10),
                () -> assertThatThrownBy(() ->
                                QemuImg.convert(source, ImageFormat.RAW, dir.resolve("target.raw"), false, percent -> {
                                    if (steps.incrementAndGet() == 3) {
                                        throw cancelled;
                                    }
                                }))
                        .isSameAs(cancelled));

        assertThat(steps)
                .as("progress is passed on while qemu-img runs, even when it prints none")
                .hasValue(3);
        assertThat(qemuImgChildren()).as("qemu-img processes left running").isEmpty();
        assertThat(Files.exists(dir.resolve("target.raw")) ? Files.size(dir.resolve("target.raw")) : 0)
                .isZero();
    }

    @Test
    void aConversionThatEndsReportsItsLastProgress() throws Exception {
        Path source = Files.write(dir.resolve("small.raw"), new byte[1 << 20]);
        AtomicInteger steps = new AtomicInteger();

        QemuImg.convert(source, ImageFormat.RAW, dir.resolve("out.raw"), false, percent -> steps.incrementAndGet());

        assertThat(steps.get()).isPositive();
        assertThat(Files.size(dir.resolve("out.raw"))).isEqualTo(1 << 20);
    }

    static List<String> qemuImgChildren() {
        return ProcessHandle.current()
                .descendants()
                .filter(ProcessHandle::isAlive)
                .map(child -> child.info().commandLine().orElse(""))
                .filter(command -> command.contains("qemu-img"))
                .toList();
    }
}
