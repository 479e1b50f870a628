package dev.sprig.nbd.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An NBD export as the Debian clients see it, checked against the bytes it must read: {@code
 * qemu-img compare} finds it identical, {@code nbdcopy} copies exactly those bytes, and both
 * {@code qemu-img map} and {@code nbdinfo --map} call zero only what reads zeros and never report a
 * hole that is not zero (a client without a backing file takes such a hole for zeros too).
 */
public final class ClientsView {

    private static final Pattern QEMU_EXTENT = Pattern.compile(
            "\\{\\s*\"start\":\\s*(\\d+),\\s*\"length\":\\s*(\\d+),.*?\"zero\":\\s*(true|false),\\s*\"data\":\\s*(true|false)");

    private ClientsView() {}

    /**
     * Runs the four checks on {@code uri} and returns its map, as {@code qemu-img map} and {@code
     * nbdinfo --map} both report it: "start+length data" or "start+length zero", neighbours merged.
     */
    public static List<String> check(String uri, byte[] expected, Path scratch) {
        try {
            Files.createDirectories(scratch);
            Path raw = Files.createTempFile(scratch, "expected", ".raw");
            Path copy = Files.createTempFile(scratch, "nbdcopy", ".raw");
            try {
                Files.write(raw, expected);
                String compare = succeed("qemu-img", "compare", "-f", "raw", "-F", "raw", uri, raw.toString());
                assertThat(compare).as("qemu-img compare").contains("Images are identical");

                succeed("nbdcopy", uri, copy.toString());
                assertThat(Files.readAllBytes(copy)).as("nbdcopy's copy").isEqualTo(expected);
            } finally {
                Files.deleteIfExists(raw);
                Files.deleteIfExists(copy);
            }
            List<String> qemuMap = qemuImgMap(uri);
            List<String> nbdinfoMap = nbdinfoMap(uri);
            assertReadsAsMapped(qemuMap, expected, "qemu-img map");
            assertReadsAsMapped(nbdinfoMap, expected, "nbdinfo --map");
            assertThat(nbdinfoMap).as("nbdinfo --map and qemu-img map agree").isEqualTo(qemuMap);
            return qemuMap;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every byte is mapped, nothing is a hole that is not zero, and zero extents read zeros. */
    private static void assertReadsAsMapped(List<String> map, byte[] expected, String tool) {
        long at = 0;
        for (String extent : map) {
            String[] parts = extent.split("[+ ]");
            long start = Long.parseLong(parts[0]);
            long length = Long.parseLong(parts[1]);
            assertThat(start)
                    .as("%s: %s follows the extent before it", tool, extent)
                    .isEqualTo(at);
            assertThat(parts[2]).as("%s: %s is data or zero", tool, extent).isIn("data", "zero");
            if (parts[2].equals("zero")) {
                for (long i = start; i < start + length; i++) {
                    if (expected[(int) i] != 0) {
                        throw new AssertionError(tool + ": " + extent + " is mapped as zero but byte " + i + " is not");
                    }
                }
            }
            at = start + length;
        }
        assertThat(at).as("%s covers the export", tool).isEqualTo(expected.length);
    }

    static List<String> qemuImgMap(String uri) {
        Matcher extent = QEMU_EXTENT.matcher(succeed("qemu-img", "map", "--output=json", "-f", "raw", uri));
        var map = new Merged();
        while (extent.find()) {
            boolean zero = Boolean.parseBoolean(extent.group(3));
            boolean data = Boolean.parseBoolean(extent.group(4));
            map.add(Long.parseLong(extent.group(1)), Long.parseLong(extent.group(2)), kind(!data, zero));
        }
        return map.extents;
    }

    /** nbdinfo's lines: offset, length, the base:allocation flags (1 hole, 2 zero), their names. */
    static List<String> nbdinfoMap(String uri) {
        var map = new Merged();
        for (String line : succeed("nbdinfo", "--map", uri).strip().split("\n")) {
            String[] fields = line.strip().split("\\s+");
            int flags = Integer.parseInt(fields[2]);
            map.add(Long.parseLong(fields[0]), Long.parseLong(fields[1]), kind((flags & 1) != 0, (flags & 2) != 0));
        }
        return map.extents;
    }

    private static String kind(boolean hole, boolean zero) {
        return zero ? "zero" : hole ? "hole" : "data";
    }

    private static final class Merged {
        final List<String> extents = new ArrayList<>();
        long start = -1;
        long end;
        String kind = "";

        void add(long at, long length, String what) {
            if (what.equals(kind) && at == end) {
                end += length;
                extents.set(extents.size() - 1, start + "+" + (end - start) + " " + kind);
                return;
            }
            start = at;
            end = at + length;
            kind = what;
            extents.add(start + "+" + length + " " + kind);
        }
    }

    /** Runs a client and returns its output; fails the test, with that output, unless it succeeds. */
    public static String succeed(String... command) {
        try {
            Path output = Files.createTempFile("sprig-nbd-client", ".log");
            try {
                Process process = new ProcessBuilder(List.of(command))
                        .redirectErrorStream(true)
                        .redirectOutput(output.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                        .start();
                if (!process.waitFor(120, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor();
                    throw new AssertionError(String.join(" ", command) + " did not finish");
                }
                String said = Files.readString(output, StandardCharsets.UTF_8);
                if (process.exitValue() != 0) {
                    throw new AssertionError(
                            String.join(" ", command) + " exited " + process.exitValue() + ":\n" + said);
                }
                return said;
            } finally {
                Files.deleteIfExists(output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("is " + command[0] + " installed? (.ci/run installs it)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
