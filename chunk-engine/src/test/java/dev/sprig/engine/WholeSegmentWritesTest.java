package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole segments (a first write's redirect, a fill, a whole-segment rewrite) are written with
 * direct I/O where the file system allows it, past the page cache; the writes of part of a segment
 * that follow go through the page cache, over the same bytes, and every read sees the latest.
 */
class WholeSegmentWritesTest {

    static final int SEG = ChunkEngine.SEGMENT_SIZE;

    @TempDir
    Path dir;

    ChunkEngine engine;
    final Random random = new Random(42);
    final byte[] parent = bytes(4 * SEG);

    @AfterEach
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    @Test
    void aFirstWriteIntoACloneLeavesItsSegmentOutOfThePageCache() throws IOException {
        openWithClone(EngineConfig.defaults());
        assumeTrue(engine.directIo(), "the file system of the temporary directory refuses direct I/O");

        engine.write(2, 8192, bytes(4096));

        assertThat(cached(2, 0)).as("the clone's new segment in the page cache").isFalse();
    }

    @Test
    void aFrozenLcKeepsNoDirectChannelOpen() throws IOException {
        openWithClone(EngineConfig.defaults());
        assumeTrue(engine.directIo(), "the file system of the temporary directory refuses direct I/O");
        engine.write(2, 8192, bytes(4096));
        assertThat(openFilesOf(2)).as("buffered and direct").isEqualTo(2);

        engine.freeze(2);

        assertThat(openFilesOf(2)).as("buffered only").isEqualTo(1);
        assertThat(engine.read(2, 8192, 4096)).hasSize(4096);
    }

    /** How many of this process's file descriptors are open on the lc's data file (Linux). */
    private long openFilesOf(long lcId) throws IOException {
        Path file = dir.resolve(Lc.fileName(lcId)).toRealPath();
        try (var fds = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                        try {
                            return java.nio.file.Files.readSymbolicLink(fd).equals(file);
                        } catch (IOException gone) {
                            return false; // closed since the listing
                        }
                    })
                    .count();
        }
    }

    @Test
    void withoutDirectIoTheSameSegmentIsLeftInThePageCache() throws IOException {
        openWithClone(EngineConfig.defaults().withDirectIo(false));

        engine.write(2, 8192, bytes(4096));

        assertThat(cached(2, 0)).as("the clone's new segment in the page cache").isTrue();
    }

    @Test
    void partialRewritesAfterADirectFirstWriteAndADirectRewriteOverThemReadBackAsWritten() {
        openWithClone(EngineConfig.defaults());
        byte[] expected = parent.clone();

        write(expected, 8192, bytes(4096)); // the redirect: the parent's segment and these bytes, direct
        assertThat(engine.read(2, 0, 2 * SEG)).isEqualTo(slice(expected, 0, 2 * SEG));
        write(expected, 100, bytes(512)); // part of a block: read back from the device, merged, buffered
        write(expected, 4096, bytes(4096)); // a whole block in place, buffered
        assertThat(engine.read(2, 0, SEG)).isEqualTo(slice(expected, 0, SEG));
        write(expected, 0, bytes(SEG)); // the whole segment again, direct, over dirty cached pages
        assertThat(engine.read(2, 0, SEG)).isEqualTo(slice(expected, 0, SEG));
        write(expected, 12288, bytes(4096));
        write(expected, SEG, bytes(SEG)); // a whole segment the clone did not hold: no parent read
        write(expected, 3 * SEG - 4096, bytes(8192)); // across two segments, both redirected

        assertThat(engine.read(2, 0, 4 * SEG)).isEqualTo(expected);
        engine.flush(2);
        engine.close();
        engine = ChunkEngine.open(dir);
        assertThat(engine.read(2, 0, 4 * SEG)).as("after a restart").isEqualTo(expected);
        assertThat(engine.scrub().damaged()).isEmpty();
    }

    @Test
    void aFilledSegmentReadsAsTheBytesItWasFilledWith() {
        openWithClone(EngineConfig.defaults());
        byte[] filled = bytes(SEG);

        assertThat(engine.fillSegment(2, 0, 1, ByteBuffer.wrap(filled))).isTrue();

        assertThat(engine.read(2, SEG, SEG)).isEqualTo(filled);
        engine.write(2, SEG + 4096, new byte[4096]);
        System.arraycopy(new byte[4096], 0, filled, 4096, 4096);
        assertThat(engine.read(2, SEG, SEG)).isEqualTo(filled);
    }

    @Test
    void aFirstWriteReadsAParentSegmentThatIsNotCachedPastThePageCache() throws IOException {
        openWithClone(EngineConfig.defaults());
        assumeTrue(engine.directIo(), "the file system of the temporary directory refuses direct I/O");
        assertThat(cached(1, 0))
                .as("the parent's segment, written with direct I/O")
                .isFalse();
        byte[] expected = parent.clone();

        write(expected, 8192, bytes(4096));

        assertThat(cached(1, 0))
                .as("the parent's segment after the clone's first write into it")
                .isFalse();
        assertThat(engine.read(2, 0, SEG)).isEqualTo(slice(expected, 0, SEG));
    }

    @Test
    void aFirstWriteMergesAParentSegmentThatIsCachedFromTheCache() throws IOException {
        openWithClone(EngineConfig.defaults());
        assertThat(engine.read(1, 0, SEG)).isEqualTo(slice(parent, 0, SEG)); // through the mapping: cached
        assertThat(cached(1, 0)).isTrue();
        byte[] expected = parent.clone();

        write(expected, 100, bytes(700));

        assertThat(engine.read(2, 0, SEG)).isEqualTo(slice(expected, 0, SEG));
    }

    @Test
    void aFirstWriteOverADamagedParentSegmentThatIsNotCachedIsRefusedAndChangesNothing() throws IOException {
        openWithClone(EngineConfig.defaults());
        assumeTrue(engine.directIo(), "the file system of the temporary directory refuses direct I/O");
        flipByteDirect(1, 3 * 4096 + 17); // block 3 of segment 0, past the page cache

        assertThatThrownBy(() -> engine.write(2, 8192, bytes(4096)))
                .isInstanceOf(CorruptionException.class)
                .hasMessageContaining("block 3");

        assertThat(engine.allocation(2, 0, SEG))
                .extracting(Extent::origin)
                .as("the clone still reads the segment from its parent")
                .containsExactly(SegmentOrigin.INHERITED);
        assertThat(engine.read(2, SEG, SEG)).isEqualTo(slice(parent, SEG, SEG));
    }

    @Test
    void aFlattenCopiesParentSegmentsThatAreNotCachedPastThePageCache() throws IOException {
        openWithClone(EngineConfig.defaults());
        assumeTrue(engine.directIo(), "the file system of the temporary directory refuses direct I/O");
        byte[] expected = parent.clone();
        write(expected, SEG + 4096, bytes(4096));

        engine.flatten(2, (done, total) -> {});

        for (int s = 0; s < 4; s++) {
            assertThat(cached(1, s)).as("the parent's segment %d", s).isFalse();
        }
        assertThat(engine.read(2, 0, 4 * SEG)).isEqualTo(expected);
    }

    /** Flips one byte of the lc's data file with direct I/O, so that the page cache is left as it was. */
    private void flipByteDirect(long lcId, long fileOffset) throws IOException {
        long blockStart = fileOffset & -4096L;
        ByteBuffer block = AlignedBuffers.allocate(4096, 4096);
        try (FileChannel file = FileChannel.open(
                dir.resolve(Lc.fileName(lcId)),
                StandardOpenOption.READ,
                StandardOpenOption.WRITE,
                com.sun.nio.file.ExtendedOpenOption.DIRECT)) {
            file.read(block, blockStart);
            int at = (int) (fileOffset - blockStart);
            block.put(at, (byte) ~block.get(at));
            file.write(block.clear(), blockStart);
        }
    }

    private void openWithClone(EngineConfig config) {
        engine = ChunkEngine.open(dir, config);
        engine.create(1, 4L * SEG);
        engine.write(1, 0, parent);
        engine.freeze(1);
        engine.createChild(2, 1);
    }

    private void write(byte[] expected, int offset, byte[] data) {
        engine.write(2, offset, data);
        System.arraycopy(data, 0, expected, offset, data.length);
    }

    /** Whether the page cache holds the whole of segment {@code s} of PC 0 of the lc's file (mincore). */
    private boolean cached(long lcId, int s) throws IOException {
        try (FileChannel file = FileChannel.open(dir.resolve(Lc.fileName(lcId)), StandardOpenOption.READ)) {
            MappedByteBuffer segment = file.map(FileChannel.MapMode.READ_ONLY, (long) s * SEG, SEG);
            return segment.isLoaded();
        }
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static byte[] slice(byte[] b, int from, int length) {
        return Arrays.copyOfRange(b, from, from + length);
    }
}
