package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Damaged bytes on disk are reported, never returned; scrub names exactly the damaged segments. */
class CorruptionTest {

    private static final int SEG = Layout.SEGMENT_SIZE;
    private static final long PC = Layout.PC_SIZE;

    @TempDir
    Path dir;

    private ChunkEngine engine;

    @BeforeEach
    void setUp() {
        engine = ChunkEngine.open(dir);
        byte[] image = new byte[(int) (2 * PC)];
        new Random(1).nextBytes(image);
        engine.create(1, 2 * PC);
        engine.write(1, 0, image);
        engine.freeze(1);
        engine.createChild(2, 1);
        engine.write(2, PC + 3 * SEG + 17, new byte[] {1, 2, 3});
        engine.flushAll();
    }

    @AfterEach
    void tearDown() {
        engine.close();
    }

    private void flipByte(long lcId, long fileOffset) throws IOException {
        try (FileChannel ch =
                FileChannel.open(dir.resolve(Lc.fileName(lcId)), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, fileOffset);
            b.put(0, (byte) ~b.get(0)).rewind();
            ch.write(b, fileOffset);
        }
    }

    @Test
    void readOfAFlippedByteRaisesCorruptionNamingTheSegment() throws IOException {
        flipByte(1, 3L * SEG + 5 * 4096 + 7);

        assertThatThrownBy(() -> engine.read(2, 3L * SEG + 5 * 4096, 10))
                .isInstanceOfSatisfying(CorruptionException.class, e -> {
                    assertThat(e.lcId()).isEqualTo(1);
                    assertThat(e.pcIndex()).isZero();
                    assertThat(e.segment()).isEqualTo(3);
                    assertThat(e.code()).isEqualTo("CORRUPTION");
                });
        assertThatThrownBy(() -> engine.read(1, 3L * SEG, SEG)).isInstanceOf(CorruptionException.class);
    }

    @Test
    void undamagedBlocksOfADamagedSegmentStillRead() throws IOException {
        flipByte(1, 3L * SEG + 5 * 4096 + 7);

        assertThat(engine.read(1, 3L * SEG, 5 * 4096)).hasSize(5 * 4096);
    }

    @Test
    void scrubReportsExactlyTheDamagedSegments() throws IOException {
        flipByte(1, 3L * SEG + 5 * 4096 + 7);
        flipByte(1, PC + 15L * SEG + SEG - 1);
        flipByte(2, PC + 3L * SEG);

        ScrubReport report = engine.scrub();

        assertThat(report.damaged())
                .containsExactly(
                        new DamagedSegment(1, 0, 3), new DamagedSegment(1, 1, 15), new DamagedSegment(2, 1, 3));
        assertThat(report.segmentsChecked()).isEqualTo(33);
    }

    @Test
    void cleanEngineScrubsClean() {
        assertThat(engine.scrub().clean()).isTrue();
    }

    @Test
    void partialWriteOverADamagedBlockRefusesToHideTheDamage() throws IOException {
        flipByte(2, PC + 3L * SEG + 100);

        assertThatThrownBy(() -> engine.write(2, PC + 3 * SEG + 10, new byte[] {7}))
                .isInstanceOf(CorruptionException.class);
    }

    @Test
    void damagedCheckpointIsReportedAtOpen() throws IOException {
        engine.close();
        Path checkpoint = dir.resolve(Checkpoint.FILE);
        byte[] bytes = Files.readAllBytes(checkpoint);
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(checkpoint, bytes);

        assertThatThrownBy(() -> ChunkEngine.open(dir)).isInstanceOf(CorruptionException.class);
        Files.delete(checkpoint);
        engine = ChunkEngine.open(dir);
    }

    @Test
    void tornJournalTailIsIgnored() throws IOException {
        engine.write(2, 0, new byte[] {5});
        engine.close();
        Path journal;
        try (var files = Files.list(dir)) {
            journal = files.filter(p -> p.getFileName().toString().startsWith("journal-"))
                    .findFirst()
                    .orElseThrow();
        }
        byte[] torn = new byte[40];
        new Random(2).nextBytes(torn);
        ByteBuffer.wrap(torn).putInt(0, 32);
        Files.write(journal, torn, StandardOpenOption.APPEND);

        engine = ChunkEngine.open(dir);

        assertThat(engine.read(2, 0, 1)).containsExactly(5);
        assertThat(engine.scrub().clean()).isTrue();
    }
}
