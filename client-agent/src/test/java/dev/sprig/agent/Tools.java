package dev.sprig.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the Debian NBD clients (nbdinfo, qemu-img, qemu-io, fio) as a person would. */
final class Tools {

    record Result(int exitCode, String output) {}

    private Tools() {}

    static Result run(String... command) throws IOException, InterruptedException {
        // output to a file, not a pipe, so that a hung tool cannot outlast the timeout
        Path output = Files.createTempFile("sprig-agent-tool", ".log");
        try {
            Process process = new ProcessBuilder(List.of(command))
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
                throw new AssertionError(String.join(" ", command) + " did not finish:\n" + Files.readString(output));
            }
            return new Result(process.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(output);
        }
    }

    /** Runs {@code command} and returns its stdout alone; fails the test, with its stderr, unless it succeeds. */
    static String stdout(String... command) throws IOException, InterruptedException {
        Path output = Files.createTempFile("sprig-agent-tool", ".out");
        Path errors = Files.createTempFile("sprig-agent-tool", ".err");
        try {
            Process process = new ProcessBuilder(List.of(command))
                    .redirectOutput(output.toFile())
                    .redirectError(errors.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            boolean finished = process.waitFor(120, TimeUnit.SECONDS);
            if (!finished || process.exitValue() != 0) {
                process.destroyForcibly().waitFor();
                throw new AssertionError(String.join(" ", command) + (finished ? " failed" : " did not finish") + ":\n"
                        + Files.readString(errors));
            }
            return Files.readString(output);
        } finally {
            Files.deleteIfExists(output);
            Files.deleteIfExists(errors);
        }
    }

    /** Runs {@code command} and fails the test, with its output, unless it succeeds. */
    static String succeed(String... command) throws IOException, InterruptedException {
        Result result = run(command);
        if (result.exitCode() != 0) {
            throw new AssertionError(
                    String.join(" ", command) + " exited " + result.exitCode() + ":\n" + result.output());
        }
        return result.output();
    }
}
