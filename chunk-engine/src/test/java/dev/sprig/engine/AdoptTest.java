package dev.sprig.engine;

import static dev.sprig.engine.EnginePropertyTest.assertSameBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A raw image written by another program becomes a fresh root lc's content without a copy. */
class AdoptTest {

    private static final int SEG = Layout.SEGMENT_SIZE;
    private static final long PC = Layout.PC_SIZE;

    @TempDir
    Path dir;

    private ChunkEngine engine;

    @BeforeEach
    void open() {
        engine = ChunkEngine.open(dir);
    }

    @AfterEach
    void close() {
        engine.close();
    }

    /**
     * A sparse image of two PCs and a short tail: random data in segment 1, in one 4 KiB block of
     * segment 17 and in the tail; holes everywhere else, and segment 5 written with zeros.
     */
    private static byte[] sparseImage(long size) {
        byte[] image = new byte[(int) size];
        Random random = new Random(11);
        byte[] data = new byte[SEG];
        random.nextBytes(data);
        System.arraycopy(data, 0, image, SEG, SEG);
        System.arraycopy(data, 0, image, 17 * SEG + 8192, 4096);
        System.arraycopy(data, 0, image, (int) size - 1000, 1000);
        return image;
    }

    /** Writes the image as a tool would: only its non-zero 4 KiB blocks, plus the zero segment 5. */
    private static void writeSparse(Path file, byte[] image) throws IOException {
        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
            out.setLength(image.length);
            for (int at = 0; at < image.length; at += 4096) {
                int n = Math.min(4096, image.length - at);
                boolean zero = true;
                for (int i = at; i < at + n && zero; i++) {
                    zero = image[i] == 0;
                }
                if (!zero || (at >= 5 * SEG && at < 6 * SEG)) {
                    out.seek(at);
                    out.write(image, at, n);
                }
            }
        }
    }

    @Test
    void theLcReadsAsTheFileAndOwnsOnlyItsNonZeroSegments() throws IOException {
        long size = 2 * PC + 3 * SEG + 5000;
        byte[] image = sparseImage(size);
        engine.create(1, size);
        Path staged = engine.stagingFile(1);
        writeSparse(staged, image);

        long stored = engine.adopt(1, staged);

        assertSameBytes(engine.read(1, 0, (int) size), image, "adopted lc");
        long tail = size - (2 * PC + 3 * SEG);
        assertThat(stored).isEqualTo(2L * SEG + tail);
        assertThat(engine.stats(1).segmentsOwned()).isEqualTo(3);
        assertThat(Files.exists(staged))
                .as("the staging file became the lc's file")
                .isFalse();
        assertThat(engine.scrub().clean()).isTrue();
    }

    @Test
    void anAdoptedLcIsDurableAndClonesLikeAnyImage() throws IOException {
        long size = 2 * PC + 3 * SEG + 5000;
        byte[] image = sparseImage(size);
        engine.create(1, size);
        writeSparse(engine.stagingFile(1), image);
        engine.adopt(1, engine.stagingFile(1));
        engine.freeze(1);

        engine.close();
        engine = ChunkEngine.open(dir);
        engine.createChild(2, 1);

        assertSameBytes(engine.read(2, 0, (int) size), image, "clone of the adopted lc after a restart");
        assertThat(engine.stats(1).segmentsOwned()).isEqualTo(3);
        assertThat(engine.scrub().clean()).isTrue();
    }

    @Test
    void aFileShorterThanTheLcLeavesTheRestReadingZeros() throws IOException {
        engine.create(1, 3 * PC);
        byte[] head = new byte[SEG + 10];
        new Random(3).nextBytes(head);
        Files.write(engine.stagingFile(1), head);

        assertThat(engine.adopt(1, engine.stagingFile(1))).isEqualTo(2L * SEG);

        byte[] expected = new byte[(int) (3 * PC)];
        System.arraycopy(head, 0, expected, 0, head.length);
        assertSameBytes(engine.read(1, 0, expected.length), expected, "short file");
    }

    @Test
    void onlyAFreshWritableRootLcAdoptsAFile() throws IOException {
        engine.create(1, PC);
        engine.write(1, 0, new byte[] {1});
        engine.create(2, PC);
        engine.freeze(2);
        engine.createChild(3, 2);
        engine.create(4, PC);
        Path file = Files.write(dir.resolve("lc-9.staging"), new byte[] {7});

        assertThatThrownBy(() -> engine.adopt(1, file)).isInstanceOf(LcNotEmptyException.class);
        assertThatThrownBy(() -> engine.adopt(2, file)).isInstanceOf(FrozenLcException.class);
        assertThatThrownBy(() -> engine.adopt(3, file))
                .isInstanceOf(LcNotEmptyException.class)
                .hasMessageContaining("parent 2");
        Files.write(file, new byte[(int) PC + 1]);
        assertThatThrownBy(() -> engine.adopt(4, file))
                .isInstanceOf(OutOfRangeException.class)
                .hasMessageContaining("longer than lc 4");
        assertThat(file).as("a refused file stays where it was").exists();
        assertThat(engine.read(1, 0, 1)).containsExactly(1);
        assertThat(engine.stats(4).segmentsOwned()).isZero();
    }

    @Test
    void onADiskFileSystemTheFileIsReadWithDirectIo() throws IOException {
        String type = Files.getFileStore(dir).type();
        assumeTrue(List.of("ext4", "xfs", "btrfs").contains(type), "the temp dir is on " + type);

        assertThat(engine.directIo()).isTrue();
    }

    @Test
    void withoutDirectIoTheFileIsReadThroughThePageCache() throws IOException {
        engine.close();
        engine = ChunkEngine.open(dir, EngineConfig.defaults().withDirectIo(false));
        long size = 2 * PC + 3 * SEG + 5000;
        byte[] image = sparseImage(size);
        engine.create(1, size);
        writeSparse(engine.stagingFile(1), image);

        assertThat(engine.directIo()).isFalse();
        assertThat(engine.adopt(1, engine.stagingFile(1))).isEqualTo(2L * SEG + 5000);
        assertSameBytes(engine.read(1, 0, (int) size), image, "adopted through the page cache");
    }

    @Test
    void aStagingFileLeftByACrashIsRemovedOnOpen() throws IOException {
        engine.create(1, PC);
        Files.write(engine.stagingFile(1), new byte[] {1, 2, 3});

        engine.close();
        engine = ChunkEngine.open(dir);

        assertThat(engine.stagingFile(1)).doesNotExist();
        assertThat(engine.read(1, 0, 3)).containsOnly(0);
    }
}
