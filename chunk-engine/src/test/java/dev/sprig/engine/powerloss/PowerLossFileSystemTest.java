package dev.sprig.engine.powerloss;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The power-loss file system keeps exactly what was forced, and the real directory shows it after a reboot. */
class PowerLossFileSystemTest {

    @TempDir
    Path base;

    private Path real(String name) {
        return base.resolve("disk").resolve(name);
    }

    private PowerLossFileSystem boot(PowerLossFileSystem.Names names) throws IOException {
        return PowerLossFileSystem.boot(base.resolve("disk"), names);
    }

    private static void write(FileChannel ch, long at, String text) throws IOException {
        ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII)), at);
    }

    private static void forceDirectory(PowerLossFileSystem fs) throws IOException {
        try (FileChannel dir = FileChannel.open(fs.dir(), READ)) {
            dir.force(true);
        }
    }

    private String content(String name) throws IOException {
        return Files.readString(real(name), StandardCharsets.US_ASCII);
    }

    @Test
    void aFileKeepsWhatItsLastForceCovered() throws IOException {
        PowerLossFileSystem fs = boot(PowerLossFileSystem.Names.DIRECTORY_FSYNC_ONLY);
        try (FileChannel ch = FileChannel.open(fs.dir().resolve("f"), CREATE, READ, WRITE)) {
            forceDirectory(fs);
            write(ch, 0, "forced");
            ch.force(false);
            write(ch, 2, "XXXXXXXXXX");
            ch.truncate(4);
            write(ch, 10, "past the end");
        }
        fs.powerOff();
        fs.reboot();

        assertThat(content("f")).isEqualTo("forced");
    }

    @Test
    void aNewFileNeedsItsDirectoryForcedUnderStrictNames() throws IOException {
        PowerLossFileSystem fs = boot(PowerLossFileSystem.Names.DIRECTORY_FSYNC_ONLY);
        try (FileChannel ch = FileChannel.open(fs.dir().resolve("f"), CREATE, WRITE)) {
            write(ch, 0, "forced");
            ch.force(true);
        }
        fs.powerOff();
        fs.reboot();

        assertThat(Files.exists(real("f"))).isFalse();
    }

    @Test
    void aNewFileIsNamedDurablyByItsOwnForceUnderJournalingNames() throws IOException {
        PowerLossFileSystem fs = boot(PowerLossFileSystem.Names.FILE_FSYNC_TOO);
        try (FileChannel forced = FileChannel.open(fs.dir().resolve("f"), CREATE, WRITE);
                FileChannel unforced = FileChannel.open(fs.dir().resolve("g"), CREATE, WRITE)) {
            write(forced, 0, "forced");
            forced.force(false);
            write(unforced, 0, "never");
        }
        fs.powerOff();
        fs.reboot();

        assertThat(content("f")).isEqualTo("forced");
        assertThat(Files.exists(real("g"))).isFalse();
    }

    @Test
    void renamesAndDeletionsLastOnlyOnceTheDirectoryIsForced() throws IOException {
        Files.createDirectories(real(""));
        Files.writeString(real("old"), "old content");
        Files.writeString(real("gone"), "deleted");
        Files.writeString(real("tmp-src"), "kept");
        PowerLossFileSystem fs = boot(PowerLossFileSystem.Names.FILE_FSYNC_TOO);
        Path dir = fs.dir();
        Files.move(dir.resolve("tmp-src"), dir.resolve("kept"), StandardCopyOption.ATOMIC_MOVE);
        forceDirectory(fs);
        try (FileChannel ch = FileChannel.open(dir.resolve("new"), CREATE, WRITE)) {
            write(ch, 0, "new content");
            ch.force(true);
        }
        Files.move(dir.resolve("new"), dir.resolve("old"), StandardCopyOption.REPLACE_EXISTING);
        Files.delete(dir.resolve("gone"));
        fs.powerOff();
        fs.reboot();

        assertThat(content("kept")).isEqualTo("kept");
        assertThat(Files.exists(real("tmp-src"))).isFalse();
        assertThat(content("old"))
                .as("the rename over it was never made durable")
                .isEqualTo("old content");
        assertThat(content("new")).as("created and forced under this name").isEqualTo("new content");
        assertThat(content("gone")).as("its unlink was never made durable").isEqualTo("deleted");
    }

    @Test
    void aTruncatingOpenIsUndoneToo() throws IOException {
        Files.createDirectories(real(""));
        Files.writeString(real("f"), "durable at boot");
        PowerLossFileSystem fs = boot(PowerLossFileSystem.Names.DIRECTORY_FSYNC_ONLY);
        try (FileChannel ch = FileChannel.open(fs.dir().resolve("f"), WRITE, TRUNCATE_EXISTING)) {
            write(ch, 0, "x");
        }
        fs.powerOff();
        fs.reboot();

        assertThat(content("f")).isEqualTo("durable at boot");
    }

    @Test
    void thePowerFailsAtTheChangeAfterTheGivenNumberAndStaysOff() throws IOException {
        PowerLossFileSystem fs = boot(PowerLossFileSystem.Names.FILE_FSYNC_TOO);
        try (FileChannel ch = FileChannel.open(fs.dir().resolve("f"), CREATE, READ, WRITE)) {
            fs.powerOffAfter(2);
            write(ch, 0, "a");
            ch.force(false);
            assertThat(fs.isOff()).isFalse();
            assertThatThrownBy(() -> write(ch, 1, "b")).isInstanceOf(IOException.class);
            assertThat(fs.isOff()).isTrue();
            assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(1), 0)).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> Files.delete(fs.dir().resolve("f"))).isInstanceOf(IOException.class);
        }
        fs.reboot();

        assertThat(content("f")).isEqualTo("a");
    }

    @Test
    void aFileWhoseForceIsIgnoredKeepsNothingWrittenToIt() throws IOException {
        PowerLossFileSystem fs = boot(PowerLossFileSystem.Names.FILE_FSYNC_TOO);
        fs.lieAboutForceOf(name -> name.startsWith("journal"));
        try (FileChannel journal = FileChannel.open(fs.dir().resolve("journal"), CREATE, WRITE);
                FileChannel data = FileChannel.open(fs.dir().resolve("data"), CREATE, WRITE)) {
            write(journal, 0, "record");
            journal.force(false);
            write(data, 0, "bytes");
            data.force(false);
        }
        forceDirectory(fs);
        fs.powerOff();
        fs.reboot();

        assertThat(Files.size(real("journal"))).isZero();
        assertThat(content("data")).isEqualTo("bytes");
    }

    @Test
    void survivingUnforcedAppendsArePrefixes() throws IOException {
        Set<Integer> kept = new HashSet<>();
        for (long seed = 0; seed < 20; seed++) {
            Path disk = base.resolve("disk-" + seed);
            PowerLossFileSystem fs = PowerLossFileSystem.boot(disk, PowerLossFileSystem.Names.FILE_FSYNC_TOO);
            fs.letSomeUnforcedChangesSurvive(new Random(seed));
            try (FileChannel ch = FileChannel.open(fs.dir().resolve("log"), CREATE, WRITE)) {
                ch.force(false);
                for (int i = 0; i < 8; i++) {
                    ch.write(ByteBuffer.wrap(new byte[] {(byte) ('a' + i)}));
                }
            }
            fs.powerOff();
            fs.reboot();

            String survived = Files.readString(disk.resolve("log"), StandardCharsets.US_ASCII);
            assertThat("abcdefgh").startsWith(survived);
            kept.add(survived.length());
        }
        assertThat(kept).as("appends kept across seeds").hasSizeGreaterThan(2);
    }
}
