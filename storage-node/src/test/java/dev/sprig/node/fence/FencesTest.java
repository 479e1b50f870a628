package dev.sprig.node.fence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprig.node.access.ReplicaEpoch;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FencesTest {

    static final ReplicaSet SET = new ReplicaSet(12, 1);

    @TempDir
    Path dir;

    @Test
    void aFenceOnlyGoesUp() {
        Fences fences = Fences.open(dir);

        assertThat(fences.raise(SET, 3)).isEqualTo(new Fence(SET, 3));
        assertThat(fences.raise(SET, 2)).as("lower: no change").isEqualTo(new Fence(SET, 3));
        assertThat(fences.raise(SET, 3)).as("equal: no change").isEqualTo(new Fence(SET, 3));
        assertThat(fences.raise(SET, 5)).isEqualTo(new Fence(SET, 5));
        assertThat(fences.all()).containsExactly(new Fence(SET, 5));
    }

    @Test
    void aTokenIsAdmittedAtOrPastItsSetsFenceAndAnySetWithoutOne() {
        Fences fences = Fences.open(dir);
        assertThat(fences.admits(new ReplicaEpoch(12, 1, 3, 1)))
                .as("no fence yet")
                .isTrue();

        fences.raise(SET, 4);

        assertThat(fences.admits(new ReplicaEpoch(12, 1, 3, 3))).isFalse();
        assertThat(fences.admits(new ReplicaEpoch(12, 1, 3, 4))).isTrue();
        assertThat(fences.admits(new ReplicaEpoch(12, 1, 3, 9))).isTrue();
        assertThat(fences.admits(new ReplicaEpoch(12, 0, 3, 1)))
                .as("another column")
                .isTrue();
        assertThat(fences.admits(new ReplicaEpoch(13, 1, 3, 1)))
                .as("another family")
                .isTrue();
    }

    @Test
    void fencesSurviveReopening() {
        Fences first = Fences.open(dir);
        first.raise(SET, 7);
        first.raise(new ReplicaSet(3, 0), 2);
        first.raise(new ReplicaSet(3, 0), 1);

        Fences second = Fences.open(dir);

        assertThat(second.all()).containsExactly(new Fence(new ReplicaSet(3, 0), 2), new Fence(SET, 7));
        assertThat(second.admits(new ReplicaEpoch(12, 1, 2, 6))).isFalse();
    }

    @Test
    void aFreshDirectoryHasNoFencesAndNoFile() {
        assertThat(Fences.open(dir).all()).isEmpty();
        assertThat(dir).isEmptyDirectory();
    }

    @Test
    void aRaiseReplacesTheWholeFileAndLeavesNoTemporaryFile() throws IOException {
        Fences fences = Fences.open(dir);
        fences.raise(SET, 2);
        fences.raise(new ReplicaSet(40, 0), 9);

        assertThat(dir.resolve("fences.tmp")).doesNotExist();
        List<String> lines = Files.readAllLines(dir.resolve("fences"));
        assertThat(lines).hasSize(4);
        assertThat(lines.subList(0, 3)).containsExactly("sprig-fences 1", "12 1 2", "40 0 9");
        assertThat(lines.get(3)).matches("end 2 [0-9a-f]{8}");
    }

    @Test
    void aTemporaryFileLeftByACrashDuringAWriteIsNotRead() throws IOException {
        Fences.open(dir).raise(SET, 2);
        Files.writeString(dir.resolve("fences.tmp"), "sprig-fences 1\n12 1 ");

        Fences reopened = Fences.open(dir);
        assertThat(reopened.all()).containsExactly(new Fence(SET, 2));
        reopened.raise(SET, 3);

        assertThat(Fences.open(dir).all()).containsExactly(new Fence(SET, 3));
        assertThat(dir.resolve("fences.tmp")).doesNotExist();
    }

    @Test
    void aChangedDigitIsADamagedFileThatStopsOpening() throws IOException {
        Fences.open(dir).raise(SET, 20);
        Path file = dir.resolve("fences");
        Files.writeString(file, Files.readString(file).replace("12 1 20", "12 1 10"));

        assertThatThrownBy(() -> Fences.open(dir))
                .isInstanceOf(DamagedFencesException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("end line says")
                .hasMessageContaining("does not start without its fences");
    }

    @Test
    void aTruncatedFileIsDamaged() throws IOException {
        Fences fences = Fences.open(dir);
        fences.raise(SET, 2);
        fences.raise(new ReplicaSet(40, 0), 9);
        Path file = dir.resolve("fences");
        byte[] whole = Files.readAllBytes(file);

        for (int length : new int[] {0, 5, 15, whole.length - 25, whole.length - 1}) {
            Files.write(file, java.util.Arrays.copyOf(whole, length));
            assertThatThrownBy(() -> Fences.open(dir))
                    .as("the first %d of %d bytes", length, whole.length)
                    .isInstanceOf(DamagedFencesException.class);
        }
    }

    @Test
    void aFileOfAnythingElseIsDamaged() throws IOException {
        Path file = dir.resolve("fences");
        for (String text : new String[] {
            "hello\n", "sprig-fences 1\n", "sprig-fences 2\nend 0 00000000\n", "sprig-fences 1\n12 1\nend 1 00000000\n",
        }) {
            Files.writeString(file, text);
            assertThatThrownBy(() -> Fences.open(dir)).as(text).isInstanceOf(DamagedFencesException.class);
        }
        Files.write(file, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
        assertThatThrownBy(() -> Fences.open(dir)).isInstanceOf(DamagedFencesException.class);
    }

    @Test
    void aWellFormedLineThatBreaksTheRulesIsDamagedEvenWithTheRightChecksum() throws IOException {
        // written as a faulty writer would: the checksum matches, the fence does not make sense
        for (String line : new String[] {"12 1 0", "0 1 4", "12 -1 4", "12 1 4\n12 1 5"}) {
            String body = "sprig-fences 1\n" + line + "\n";
            var crc = new java.util.zip.CRC32C();
            crc.update(body.getBytes(StandardCharsets.UTF_8));
            long count = line.lines().count();
            Files.writeString(
                    dir.resolve("fences"), body + "end " + count + " " + String.format("%08x", crc.getValue()) + "\n");

            assertThatThrownBy(() -> Fences.open(dir))
                    .as(line)
                    .isInstanceOf(DamagedFencesException.class)
                    .hasMessageContaining("line ");
        }
    }

    @Test
    void aRaiseThatCannotBeWrittenFailsYetHoldsUntilARestart() throws IOException {
        Fences fences = Fences.open(dir);
        fences.raise(SET, 2);
        // a directory where the temporary file must go: opening it for writing fails
        Files.createDirectories(dir.resolve("fences.tmp").resolve("blocker"));

        assertThatThrownBy(() -> fences.raise(SET, 3)).isInstanceOf(FencesNotDurableException.class);
        assertThat(fences.admits(SET, 2)).as("fenced in this run all the same").isFalse();
        assertThat(Fences.open(dir).all()).as("the file still says").containsExactly(new Fence(SET, 2));

        Files.delete(dir.resolve("fences.tmp").resolve("blocker"));
        Files.delete(dir.resolve("fences.tmp"));
        fences.raise(SET, 4);
        assertThat(Fences.open(dir).all()).containsExactly(new Fence(SET, 4));
    }

    @Test
    void concurrentRaisesKeepTheHighestOfEachSet() throws Exception {
        Fences fences = Fences.open(dir);
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> raises = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                ReplicaSet set = new ReplicaSet(1 + i % 5, 0);
                long epoch = 1 + ThreadLocalRandom.current().nextLong(50);
                raises.add(threads.submit(() -> fences.raise(set, epoch)));
            }
            raises.add(threads.submit(() -> fences.raise(new ReplicaSet(3, 0), 77)));
            for (Future<?> raise : raises) {
                raise.get();
            }
        } finally {
            threads.shutdownNow();
        }

        assertThat(fences.all()).hasSize(5);
        assertThat(Fences.open(dir).all()).isEqualTo(fences.all());
        assertThat(Fences.open(dir).admits(new ReplicaSet(3, 0), 76)).isFalse();
    }
}
