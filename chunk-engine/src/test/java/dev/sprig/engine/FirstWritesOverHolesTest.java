package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A first write into a segment that nothing in the chain holds data for writes only the blocks it
 * touches when the lc's file is known to hold a hole there (this engine created the file); the rest
 * of the segment reads as zeros from the hole. A file the engine did not create (an earlier run's,
 * which a crash may have left bytes in) gets the whole merged segment, as before.
 */
class FirstWritesOverHolesTest {

    static final int SEG = ChunkEngine.SEGMENT_SIZE;

    @TempDir
    Path dir;

    ChunkEngine engine;
    final Random random = new Random(7);

    @AfterEach
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    @Test
    void aFirstWriteWhereTheChainHoldsNoDataWritesOnlyItsOwnBlocks() throws IOException {
        openWithSparseParent();
        byte[] block = bytes(4096);

        engine.write(2, SEG, block); // segment 1: the parent holds nothing there

        assertThat(Files.size(file(2)))
                .as("the clone's file ends after the block written, not after its whole segment")
                .isEqualTo(SEG + 4096L);
        assertThat(engine.read(2, SEG, SEG)).isEqualTo(segmentWith(0, block));
        assertThat(engine.allocation(2, SEG, SEG)).extracting(Extent::origin).containsExactly(SegmentOrigin.WRITTEN);
    }

    @Test
    void anUnalignedFirstWriteOverAHoleReadsBackWithZerosAroundIt() {
        openWithSparseParent();
        byte[] piece = bytes(700);

        engine.write(2, 2 * SEG + 5000, piece);

        assertThat(engine.read(2, 2 * SEG, SEG)).isEqualTo(segmentWith(5000, piece));
        engine.write(2, 2 * SEG + 5000 + 700, piece); // then a rewrite in place next to it
        byte[] expected = segmentWith(5000, piece);
        System.arraycopy(piece, 0, expected, 5700, 700);
        assertThat(engine.read(2, 2 * SEG, SEG)).isEqualTo(expected);
    }

    @Test
    void aSparseSegmentReadsBackAfterTheCloneIsFrozenAndAfterTheEngineReopens() {
        openWithSparseParent();
        byte[] block = bytes(4096);
        engine.write(2, 3 * SEG + 8192, block); // the file's last segment, mostly past its end

        engine.freeze(2);
        assertThat(engine.read(2, 3 * SEG, SEG)).isEqualTo(segmentWith(8192, block));
        engine.close();
        engine = ChunkEngine.open(dir, EngineConfig.defaults());

        assertThat(engine.read(2, 3 * SEG, SEG)).isEqualTo(segmentWith(8192, block));
        assertThat(engine.scrub().damaged()).isEmpty();
    }

    @Test
    void aFileFromAnEarlierRunGetsTheWholeSegmentSoStaleBytesInItAreOverwritten() throws IOException {
        openWithSparseParent();
        engine.write(2, 0, bytes(4096)); // the clone's file exists now
        engine.close();
        // what a crash between a segment's bytes and its record leaves: bytes no record names
        byte[] stale = bytes(SEG);
        try (FileChannel file = FileChannel.open(file(2), StandardOpenOption.WRITE)) {
            file.write(ByteBuffer.wrap(stale), SEG);
        }
        engine = ChunkEngine.open(dir, EngineConfig.defaults());
        byte[] block = bytes(4096);

        engine.write(2, SEG + 4096, block);

        assertThat(engine.read(2, SEG, SEG))
                .as("zeros around the block, not the stale bytes")
                .isEqualTo(segmentWith(4096, block));
    }

    /** lc 1: 4 segments, only segment 0 written, frozen; lc 2 its clone. */
    private void openWithSparseParent() {
        engine = ChunkEngine.open(dir, EngineConfig.defaults());
        engine.create(1, 4L * SEG);
        engine.write(1, 0, bytes(SEG));
        engine.freeze(1);
        engine.createChild(2, 1);
    }

    private Path file(long lcId) {
        return dir.resolve(Lc.fileName(lcId));
    }

    private static byte[] segmentWith(int at, byte[] data) {
        byte[] segment = new byte[SEG];
        System.arraycopy(data, 0, segment, at, data.length);
        return segment;
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }
}
