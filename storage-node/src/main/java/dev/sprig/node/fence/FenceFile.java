package dev.sprig.node.fence;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * The file {@code fences} in the node's data directory, text so that an operator can read it:
 *
 * <pre>
 * sprig-fences 1
 * &lt;familyId&gt; &lt;column&gt; &lt;epoch&gt;     one line per fenced replica set
 * end &lt;lines&gt; &lt;crc32c&gt;               the number of fence lines, the CRC32C (hex) of every byte above
 * </pre>
 *
 * A new version is written whole to {@code fences.tmp}, forced, renamed over {@code fences} and the
 * directory forced, so that a crash leaves the old file or the new one, never a mix. A file that
 * does not parse, or whose CRC or line count does not match, is damaged: a torn or altered file
 * must not pass for fewer fences. The chunk engine, which shares the directory, leaves these names
 * alone.
 */
final class FenceFile {

    static final String NAME = "fences";
    static final String TMP = NAME + ".tmp";
    private static final String HEADER = "sprig-fences 1";
    /** Far above any real count (a node is in a few sets per family it holds); bounds what a read takes. */
    private static final long MAX_BYTES = 64L << 20;

    private FenceFile() {}

    /** The fences the file in {@code dir} holds; none when there is no file yet (a fresh node). */
    static Map<ReplicaSet, Long> read(Path dir) {
        Path file = dir.resolve(NAME);
        String text;
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw new DamagedFencesException(file, "larger than " + MAX_BYTES + " bytes");
            }
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .decode(ByteBuffer.wrap(Files.readAllBytes(file)))
                    .toString();
        } catch (NoSuchFileException none) {
            return Map.of();
        } catch (IOException unreadable) {
            throw new DamagedFencesException(file, "unreadable: " + unreadable, unreadable);
        }
        return parse(file, text);
    }

    private static Map<ReplicaSet, Long> parse(Path file, String text) {
        if (!text.endsWith("\n")) {
            throw new DamagedFencesException(file, "it does not end with a complete line");
        }
        List<String> lines = text.lines().toList();
        if (lines.isEmpty() || !lines.get(0).equals(HEADER)) {
            throw new DamagedFencesException(file, "it does not start with '" + HEADER + "'");
        }
        String end = lines.get(lines.size() - 1);
        int endAt = text.length() - end.length() - 1;
        String[] trailer = end.split(" ", -1);
        if (lines.size() < 2 || trailer.length != 3 || !trailer[0].equals("end")) {
            throw new DamagedFencesException(file, "its last line is not 'end <lines> <crc32c>'");
        }
        String expected = trailer[1] + " " + trailer[2];
        String actual = (lines.size() - 2) + " " + crcOf(text.substring(0, endAt));
        if (!expected.equals(actual)) {
            throw new DamagedFencesException(
                    file, "its end line says '" + expected + "', its content is '" + actual + "'");
        }
        Map<ReplicaSet, Long> fences = new HashMap<>();
        for (int i = 1; i < lines.size() - 1; i++) {
            String line = lines.get(i);
            String[] fields = line.split(" ", -1);
            try {
                if (fields.length != 3) {
                    throw new IllegalArgumentException("not three numbers");
                }
                Fence fence = new Fence(
                        new ReplicaSet(Long.parseLong(fields[0]), Integer.parseInt(fields[1])),
                        Long.parseLong(fields[2]));
                if (fences.put(fence.set(), fence.epoch()) != null) {
                    throw new IllegalArgumentException("a second fence of the same set");
                }
            } catch (IllegalArgumentException bad) {
                throw new DamagedFencesException(file, "line " + (i + 1) + " '" + line + "': " + bad.getMessage(), bad);
            }
        }
        return fences;
    }

    /** Replaces the file in {@code dir} with one holding {@code fences}, durably. */
    static void write(Path dir, Collection<Fence> fences) throws IOException {
        StringBuilder text = new StringBuilder(HEADER).append('\n');
        Set<ReplicaSet> seen = new HashSet<>();
        for (Fence fence : fences) {
            if (!seen.add(fence.set())) {
                throw new IllegalArgumentException("two fences of " + fence.set());
            }
            text.append(fence.set().familyId())
                    .append(' ')
                    .append(fence.set().column())
                    .append(' ')
                    .append(fence.epoch())
                    .append('\n');
        }
        String crc = crcOf(text.toString());
        text.append("end ").append(fences.size()).append(' ').append(crc).append('\n');
        Path tmp = dir.resolve(TMP);
        try {
            try (FileChannel channel = FileChannel.open(
                    tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(true);
            }
            Files.move(tmp, dir.resolve(NAME), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException failed) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException cleanup) {
                failed.addSuppressed(cleanup);
            }
            throw failed;
        }
        try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
            directory.force(true);
        }
    }

    private static String crcOf(String text) {
        CRC32C crc = new CRC32C();
        crc.update(text.getBytes(StandardCharsets.UTF_8));
        return String.format("%08x", crc.getValue());
    }
}
