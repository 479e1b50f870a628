package dev.sprig.api.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.DoubleConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code qemu-img}, the maintained reader of QEMU's formats, as the import uses it: to learn what an
 * image is, where its data lies, and to convert it to a raw file. Each call is one child process;
 * its own words become the failure's message.
 */
final class QemuImg {

    /** Reading an image's header or its map: quick, unless the file is hostile. */
    static final Duration INSPECT_TIMEOUT = Duration.ofSeconds(60);

    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** What {@code -p} prints, with a carriage return after each: {@code (12.34/100%)}. */
    private static final Pattern PROGRESS = Pattern.compile("\\((\\d+(?:\\.\\d+)?)/100%\\)");

    private QemuImg() {}

    /**
     * What qemu-img reads in an image file's header: its size, and the other files it would read
     * (a backing file, or a qcow2's external data file), null when it names none.
     */
    record Info(
            long virtualSize,
            @Nullable String backingFile,
            @Nullable String dataFile) {}

    /**
     * What the image file says it is. A file that is not in the declared format fails with
     * qemu-img's words ("Image is not in qcow2 format").
     */
    static Info info(Path file, ImageFormat format) {
        JsonNode info = json(run(
                "reading the image",
                "info",
                "--output=json",
                "-f",
                format.column(),
                file.toAbsolutePath().toString()));
        return new Info(
                info.path("virtual-size").asLong(),
                text(info.path("backing-filename")),
                text(info.path("format-specific").path("data").path("data-file")));
    }

    private static @Nullable String text(JsonNode node) {
        return node.isMissingNode() || node.isNull() ? null : node.asString();
    }

    /**
     * The bytes of the image's first {@code size} bytes in whole {@code segment}s that hold data by
     * its map (allocated and not known to be zero): an upper bound of what a copy that skips
     * all-zero segments stores.
     */
    static long dataBytes(Path file, ImageFormat format, long size, int segment) {
        JsonNode extents = json(run(
                "mapping the image",
                "map",
                "--output=json",
                "-f",
                format.column(),
                file.toAbsolutePath().toString()));
        long bytes = 0;
        long counted = -1; // the last segment counted: extents are sorted, neighbours may share one
        for (JsonNode extent : extents) {
            if (!extent.path("data").asBoolean() || extent.path("zero").asBoolean()) {
                continue;
            }
            long start = extent.path("start").asLong();
            long end = Math.min(size, start + extent.path("length").asLong());
            for (long s = Math.max(start / segment, counted + 1); s * segment < end; s++) {
                bytes += Math.min(segment, size - s * segment);
                counted = s;
            }
        }
        return bytes;
    }

    /** How often a running conversion passes its progress on, and so learns of a cancellation. */
    static final Duration CONVERT_POLL = Duration.ofMillis(100);

    /**
     * Converts the image to a raw file at {@code target} (created; zero ranges left as holes), with
     * direct I/O if asked, telling {@code percentDone} how far it got, on the calling thread, every
     * {@link #CONVERT_POLL} while qemu-img runs. Blocks until qemu-img is done. When
     * {@code percentDone} throws (the operation was cancelled) or the thread is interrupted,
     * qemu-img is killed at once and waited for, then the failure is thrown: a cancelled import
     * leaves no conversion running.
     */
    static void convert(Path file, ImageFormat format, Path target, boolean directIo, DoubleConsumer percentDone) {
        List<String> command =
                new ArrayList<>(List.of("qemu-img", "convert", "-p", "-f", format.column(), "-O", "raw"));
        if (directIo) {
            // the target bypasses the page cache; qemu-img flushes it as it closes it
            command.addAll(List.of("-t", "none"));
        }
        // absolute, so that no file name can read to qemu as a protocol prefix or "json:"
        command.addAll(List.of(
                file.toAbsolutePath().toString(), target.toAbsolutePath().toString()));
        Process process = start(command, true);
        StringBuilder said = new StringBuilder();
        AtomicReference<Double> percent = new AtomicReference<>(0.0);
        Thread reader =
                new Thread(() -> readProgress(process.getInputStream(), percent::set, said), "qemu-img-progress");
        reader.setDaemon(true);
        reader.start();
        try {
            while (!process.waitFor(CONVERT_POLL.toMillis(), TimeUnit.MILLISECONDS)) {
                percentDone.accept(percent.get());
            }
            reader.join();
            percentDone.accept(percent.get());
            if (process.exitValue() != 0) {
                throw new ImportFailure(
                        "qemu-img could not convert the image: " + words(said.toString(), process.exitValue()));
            }
        } catch (InterruptedException e) {
            ChildCommand.kill(process);
            Thread.currentThread().interrupt();
            throw new ImportFailure("the import was interrupted", e);
        } catch (RuntimeException stopped) {
            ChildCommand.kill(process);
            throw stopped;
        }
    }

    /** Reports each progress mark; keeps whatever else qemu-img prints (its errors) in {@code said}. */
    private static void readProgress(InputStream out, DoubleConsumer percentDone, StringBuilder said) {
        StringBuilder line = new StringBuilder();
        try (InputStream in = out) {
            for (int c; (c = in.read()) >= 0; ) {
                if (c != '\r' && c != '\n') {
                    line.append((char) c);
                    continue;
                }
                Matcher progress = PROGRESS.matcher(line);
                if (progress.find()) {
                    percentDone.accept(Double.parseDouble(progress.group(1)));
                } else if (!line.toString().isBlank()) {
                    said.append(line.toString().strip()).append(' ');
                }
                line.setLength(0);
            }
            said.append(line.toString().strip());
        } catch (IOException e) {
            // the process went away; its exit status tells the rest
        }
    }

    /** Runs a quick qemu-img command and returns what it printed, or fails with what it said. */
    private static String run(String doing, String... arguments) {
        Ran ran = exec(doing, arguments);
        if (ran.status() != 0) {
            throw new ImportFailure("qemu-img refused the image: " + words(ran.err(), ran.status()));
        }
        return ran.out();
    }

    /** What a quick qemu-img command printed, and its exit status. */
    private record Ran(int status, String out, String err) {}

    private static Ran exec(String doing, String... arguments) {
        List<String> command = new ArrayList<>(List.of("qemu-img"));
        command.addAll(List.of(arguments));
        Process process = start(command, false);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread outReader = new Thread(() -> drain(process.getInputStream(), out), "qemu-img-output");
        Thread errReader = new Thread(() -> drain(process.getErrorStream(), err), "qemu-img-errors");
        outReader.setDaemon(true);
        errReader.setDaemon(true);
        outReader.start();
        errReader.start();
        try {
            if (!process.waitFor(INSPECT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new ImportFailure("qemu-img took more than " + INSPECT_TIMEOUT.toSeconds() + " s " + doing);
            }
            outReader.join();
            errReader.join();
            return new Ran(
                    process.exitValue(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new ImportFailure("the import was interrupted", e);
        }
    }

    /** How many of qemu-img check's own lines a failure quotes. */
    private static final int CHECK_LINES = 3;

    /**
     * Checks a qcow2's metadata with {@code qemu-img check}: a file with corruptions (clusters past
     * its end, tables with reserved bits set, overlapping references) would otherwise read as zeros
     * where its data was lost, and import as if whole. Leaked clusters (exit status 3) harm no
     * reader and pass.
     */
    static void check(Path file, ImageFormat format) {
        Ran ran = exec(
                "checking the image",
                "check",
                "--output=json",
                "-f",
                format.column(),
                file.toAbsolutePath().toString());
        if (ran.status() == 0 || ran.status() == 3) {
            return;
        }
        String said = ran.err()
                .lines()
                .map(String::strip)
                .filter(line -> !line.isEmpty())
                .map(line -> line.replaceFirst("^qemu-img: ", ""))
                .distinct()
                .limit(CHECK_LINES)
                .reduce((a, b) -> a + "; " + b)
                .orElse("");
        if (ran.status() == 2) {
            long corruptions = -1;
            try {
                corruptions = json(ran.out()).path("corruptions").asLong(-1);
            } catch (RuntimeException e) {
                // the count is a nicety; qemu-img's lines say what is wrong
            }
            throw new ImportFailure("qemu-img check found the image corrupt"
                    + (corruptions > 0 ? " (" + corruptions + " errors)" : "")
                    + (said.isEmpty() ? "" : ": " + said));
        }
        throw new ImportFailure("qemu-img could not check the image: " + words(said, ran.status()));
    }

    private static void drain(InputStream in, ByteArrayOutputStream into) {
        try (in) {
            in.transferTo(into);
        } catch (IOException e) {
            // the process went away; its exit status tells the rest
        }
    }

    private static Process start(List<String> command, boolean mergeErrors) {
        try {
            return new ProcessBuilder(ChildCommand.of(command))
                    .redirectErrorStream(mergeErrors)
                    .start();
        } catch (IOException e) {
            throw new ImportFailure("qemu-img could not be started (is qemu-utils installed?): " + e.getMessage(), e);
        }
    }

    private static JsonNode json(String text) {
        return JSON.readTree(text);
    }

    /** qemu-img's message without its program-name prefix, or its exit status when it said nothing. */
    private static String words(String said, int status) {
        String text = said.strip().replaceFirst("^qemu-img: ", "");
        return text.isEmpty() ? "it exited with status " + status : text;
    }
}
