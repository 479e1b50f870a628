package dev.sprig.engine;

import static dev.sprig.engine.EnginePropertyTest.assertSameBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkEngineTest {

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

    private static byte[] bytes(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private void reopen() {
        engine.close();
        engine = ChunkEngine.open(dir);
    }

    @Test
    void unwrittenLcReadsAsZerosAndStoresNothing() throws Exception {
        engine.create(1, 3 * PC);

        assertThat(engine.read(1, 0, (int) (3 * PC))).containsOnly(0);
        assertThat(engine.stats(1)).isEqualTo(new LcStats(1, 0, 0, 0, 0));
        assertThat(Files.exists(dir.resolve("lc-1.data"))).isFalse();
    }

    @Test
    void writeSparseStoresDataAndTurnsZerosIntoNothingStored() {
        engine.create(1, PC);
        engine.write(1, 0, bytes(2 * SEG, 7)); // older bytes in segments 0 and 1
        byte[] data = bytes(SEG, 8);

        long zeros = engine.writeSparse(1, 0, ByteBuffer.wrap(new byte[SEG]));
        long written = engine.writeSparse(1, SEG, ByteBuffer.wrap(data));
        long untouched = engine.writeSparse(1, 2 * SEG, ByteBuffer.wrap(new byte[SEG]));

        assertThat(new long[] {zeros, written, untouched}).containsExactly(0, SEG, 0);
        assertThat(engine.read(1, 0, SEG)).containsOnly(0);
        assertSameBytes(engine.read(1, SEG, SEG), data, "written segment");
        assertThat(engine.stats(1).bytesStored()).isEqualTo(SEG);
    }

    @Test
    void cloneOfFrozenImageSharesAllSegments() {
        byte[] image = bytes((int) (2 * PC), 1);
        engine.create(1, 2 * PC);
        engine.write(1, 0, image);
        engine.freeze(1);

        engine.createChild(2, 1);

        assertSameBytes(engine.read(2, 0, image.length), image, "clone");
        assertThat(engine.stats(2).segmentsOwned()).isZero();
        assertThat(engine.info(1).children()).isEqualTo(1);
    }

    @Test
    void partialFirstWriteRedirectsTheWholeSegmentMergedOverTheParent() {
        byte[] image = bytes((int) PC, 2);
        engine.create(1, PC);
        engine.write(1, 0, image);
        engine.freeze(1);
        engine.createChild(2, 1);

        byte[] patch = bytes(100, 3);
        engine.write(2, SEG + 1000, patch);

        byte[] expected = image.clone();
        System.arraycopy(patch, 0, expected, SEG + 1000, patch.length);
        assertSameBytes(engine.read(2, 0, (int) PC), expected, "clone after redirect");
        assertSameBytes(engine.read(1, 0, (int) PC), image, "parent untouched");
        assertThat(engine.stats(2)).isEqualTo(new LcStats(2, 1, 0, 1, SEG));
    }

    @Test
    void rewriteOfAnOwnedSegmentIsInPlace() {
        engine.create(1, PC);
        engine.write(1, 0, bytes(SEG, 4));
        byte[] patch = bytes(4096, 5);

        engine.write(1, 8192, patch);

        assertThat(engine.read(1, 8192, 4096)).isEqualTo(patch);
        assertThat(engine.stats(1).segmentsOwned()).isEqualTo(1);
    }

    @Test
    void writesAcrossSegmentAndPcBoundariesReadBackExactly() {
        engine.create(1, 3 * PC);
        byte[] data = bytes((int) PC + 12345, 6);
        long offset = PC - 7777;

        engine.write(1, offset, data);

        assertSameBytes(engine.read(1, offset, data.length), data, "range");
        assertThat(engine.read(1, offset - 10, 10)).containsOnly(0);
        assertThat(engine.stats(1).pcsAllocated()).isEqualTo(3);
    }

    @Test
    void wholeSegmentZeroesInACloneStoreNoBytes() {
        engine.create(1, PC);
        engine.write(1, 0, bytes((int) PC, 7));
        engine.freeze(1);
        engine.createChild(2, 1);

        engine.writeZeroes(2, SEG, 2L * SEG);

        assertThat(engine.read(2, SEG, 2 * SEG)).containsOnly(0);
        assertThat(engine.stats(2)).isEqualTo(new LcStats(2, 2, 2, 1, 0));
        assertThat(engine.read(1, SEG, 10)).isNotEqualTo(new byte[10]);
    }

    @Test
    void zeroingWhatAlreadyReadsAsZerosIsFree() {
        engine.create(1, 2 * PC);

        engine.writeZeroes(1, 100, PC);

        assertThat(engine.stats(1).segmentsOwned()).isZero();
    }

    @Test
    void partialZeroesAndTrimReadBackAsZeros() {
        engine.create(1, PC);
        engine.write(1, 0, bytes((int) PC, 8));

        engine.writeZeroes(1, 1000, 5000);
        engine.trim(1, SEG - 10, 20);

        assertThat(engine.read(1, 1000, 5000)).containsOnly(0);
        assertThat(engine.read(1, SEG - 10, 20)).containsOnly(0);
        assertThat(engine.read(1, 999, 1)).isNotEqualTo(new byte[1]);
    }

    @Test
    void dataWrittenOverAZeroSegmentIsMergedOverZeros() {
        engine.create(1, PC);
        engine.write(1, 0, bytes((int) PC, 9));
        engine.writeZeroes(1, 0, SEG);

        engine.write(1, 10, new byte[] {1, 2, 3});

        byte[] expected = new byte[SEG];
        expected[10] = 1;
        expected[11] = 2;
        expected[12] = 3;
        assertThat(engine.read(1, 0, SEG)).isEqualTo(expected);
    }

    @Test
    void flattenCopiesInheritedSegmentsAndDetachesFromTheParent() {
        byte[] image = bytes((int) (2 * PC), 10);
        engine.create(1, 2 * PC);
        engine.write(1, 0, image);
        engine.freeze(1);
        engine.createChild(2, 1);
        engine.write(2, 5, new byte[] {42});
        image[5] = 42;
        List<Long> progress = new ArrayList<>();

        engine.flatten(2, (done, total) -> progress.add(done * 100 / total));

        assertThat(progress).containsExactly(50L, 100L);
        assertThat(engine.info(2).parentLcId()).isEmpty();
        assertThat(engine.info(1).children()).isZero();
        engine.delete(1);
        reopen();
        assertSameBytes(engine.read(2, 0, image.length), image, "flattened lc");
    }

    @Test
    void pcsWithDataAreThoseTheLcOrItsAncestorsHoldAnythingIn() {
        long size = ChunkEngine.MAX_SIZE;
        engine.create(1, size);
        engine.write(1, 7 * PC + 3, new byte[] {1, 2, 3});
        engine.freeze(1);
        engine.createChild(2, 1);
        engine.write(2, 1000 * PC, new byte[] {6});
        engine.createChild(3, 1);

        assertThat(engine.pcsWithData(1)).containsExactly(7);
        assertThat(engine.pcsWithData(2)).containsExactly(7, 1000);
        assertThat(engine.pcsWithData(3))
                .as("a sibling's writes are not its own")
                .containsExactly(7);
        engine.create(4, size);
        assertThat(engine.pcsWithData(4)).isEmpty();
        assertThatThrownBy(() -> engine.pcsWithData(99)).isInstanceOf(UnknownLcException.class);
    }

    @Test
    void flattenVisitsOnlyThePcsItsAncestorsHoldDataIn() {
        // 64 TiB declared, 3 PCs written across two ancestors: 16,777,216 PCs by size, 3 to copy
        long size = ChunkEngine.MAX_SIZE;
        engine.create(1, size);
        engine.write(1, 7 * PC + 3, new byte[] {1, 2, 3});
        // (an offset a data file on ext4 can hold: its files end at 16 TiB)
        long far = (1L << 40) - 1;
        engine.write(1, far, new byte[] {4});
        engine.freeze(1);
        engine.createChild(2, 1);
        engine.write(2, 7 * PC, new byte[] {5});
        engine.write(2, 1000 * PC, new byte[] {6});
        engine.freeze(2);
        engine.createChild(3, 2);
        List<long[]> progress = new ArrayList<>();

        assertThat(engine.ancestorPcs(3)).containsExactly(7, 1000, far / PC);
        long started = System.nanoTime();
        engine.flatten(3, (done, total) -> progress.add(new long[] {done, total}));

        assertThat(System.nanoTime() - started).isLessThan(java.util.concurrent.TimeUnit.SECONDS.toNanos(5));
        assertThat(progress).extracting(p -> p[0]).containsExactly(1L, 2L, 3L);
        assertThat(progress).extracting(p -> p[1]).containsOnly(3L);
        assertThat(engine.info(3).parentLcId()).isEmpty();
        assertThat(engine.read(3, 7 * PC, 4)).containsExactly(5, 0, 0, 1);
        assertThat(engine.read(3, 1000 * PC, 1)).containsExactly(6);
        assertThat(engine.read(3, far, 1)).containsExactly(4);
        assertThat(engine.read(3, 500 * PC, 8)).containsOnly(0);
    }

    @Test
    void aFlattenWhoseProgressThrowsStopsThereAndLeavesTheLcAttachedAndIntact() {
        engine.create(1, 8 * PC);
        for (int pc = 0; pc < 8; pc++) {
            engine.write(1, pc * PC, new byte[] {(byte) (pc + 1)});
        }
        engine.freeze(1);
        engine.createChild(2, 1);

        assertThatThrownBy(() -> engine.flatten(2, (done, total) -> {
                    if (done == 3) {
                        throw new IllegalStateException("cancelled");
                    }
                }))
                .hasMessage("cancelled");

        assertThat(engine.info(2).parentLcId()).hasValue(1);
        for (int pc = 0; pc < 8; pc++) {
            assertThat(engine.read(2, pc * PC, 1)).containsExactly(pc + 1);
        }
        engine.flatten(2, FlattenProgress.none());
        assertThat(engine.info(2).parentLcId()).isEmpty();
        assertThat(engine.scrub().clean()).isTrue();
    }

    @Test
    void flattenStaysCorrectUnderConcurrentWrites() throws Exception {
        byte[] image = bytes((int) (4 * PC), 11);
        engine.create(1, 4 * PC);
        engine.write(1, 0, image);
        engine.freeze(1);
        engine.createChild(2, 1);
        byte[] expected = image.clone();
        Thread writer = new Thread(() -> {
            Random r = new Random(12);
            for (int i = 0; i < 300; i++) {
                int off = r.nextInt(expected.length - 5000);
                byte[] b = bytes(1 + r.nextInt(5000), i);
                engine.write(2, off, b);
                System.arraycopy(b, 0, expected, off, b.length);
                assertSameBytes(engine.read(2, off, b.length), b, "concurrent read");
            }
        });

        writer.start();
        engine.flatten(2, FlattenProgress.none());
        writer.join();

        assertSameBytes(engine.read(2, 0, expected.length), expected, "after flatten");
        assertThat(engine.scrub().clean()).isTrue();
    }

    @Test
    void flushedStateSurvivesReopen() {
        engine.create(1, 2 * PC);
        byte[] data = bytes(700_000, 13);
        engine.write(1, 123, data);
        engine.freeze(1);
        engine.createChild(2, 1, 3 * PC);
        engine.write(2, 2 * PC + 5, data);
        engine.writeZeroes(2, 0, SEG);
        engine.flushAll();

        reopen();

        assertThat(engine.info(2)).isEqualTo(new LcInfo(2, java.util.OptionalLong.of(1), 3 * PC, false, 0));
        assertSameBytes(engine.read(1, 123, data.length), data, "parent");
        assertSameBytes(engine.read(2, 2 * PC + 5, data.length), data, "child");
        assertThat(engine.read(2, 0, SEG)).containsOnly(0);
    }

    @Test
    void growingAnLcAddsZeros() {
        engine.create(1, PC);
        engine.write(1, PC - 3, new byte[] {1, 2, 3});

        engine.grow(1, 2 * PC);

        assertThat(engine.read(1, PC - 3, 6)).containsExactly(1, 2, 3, 0, 0, 0);
    }

    @Test
    void directAndHeapBuffersReadTheSameBytes() {
        engine.create(1, PC);
        byte[] data = bytes((int) PC, 14);
        engine.write(1, 0, ByteBuffer.wrap(data));
        ByteBuffer direct = ByteBuffer.allocateDirect(3 * 4096);

        engine.read(1, 4096, direct);

        byte[] got = new byte[3 * 4096];
        direct.flip().get(got);
        assertThat(got).isEqualTo(Arrays.copyOfRange(data, 4096, 4 * 4096));
    }

    @Test
    void statsAddUpOverLcs() {
        engine.create(1, 2 * PC);
        engine.write(1, 0, bytes(SEG + 1, 15));
        engine.freeze(1);
        engine.createChild(2, 1);
        engine.write(2, PC, new byte[1]);

        EngineStats stats = engine.stats();

        assertThat(stats.lcs()).isEqualTo(2);
        assertThat(stats.segmentsOwned()).isEqualTo(3);
        assertThat(stats.pcsAllocated()).isEqualTo(2);
        assertThat(stats.bytesStored()).isEqualTo(3L * SEG);
    }

    @Test
    void concurrentReadersNeverSeeTornBlocksOrFalseCorruption() throws Exception {
        engine.create(1, PC);
        engine.write(1, 0, new byte[SEG]);
        int blocks = 8;
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread writer = new Thread(() -> {
            byte[] block = new byte[4096];
            for (int i = 1; !stop.get(); i++) {
                Arrays.fill(block, (byte) i);
                engine.write(1, (long) (i % blocks) * 4096, block);
                if (i % 1000 == 0) {
                    engine.flush(1);
                }
            }
        });
        writer.start();
        try {
            ByteBuffer direct = ByteBuffer.allocateDirect(4096);
            byte[] heap = new byte[4096];
            for (int i = 0; i < 50_000; i++) {
                long offset = (long) (i % blocks) * 4096;
                direct.clear();
                engine.read(1, offset, direct);
                assertThat(uniform(direct.flip())).as("direct read %d", i).isTrue();
                engine.read(1, offset + 100, heap, 0, 3996);
                assertThat(uniform(ByteBuffer.wrap(heap, 0, 3996)))
                        .as("unaligned read %d", i)
                        .isTrue();
            }
        } finally {
            stop.set(true);
            writer.join();
        }
    }

    private static boolean uniform(ByteBuffer b) {
        byte first = b.get(b.position());
        for (int i = b.position(); i < b.limit(); i++) {
            if (b.get(i) != first) {
                return false;
            }
        }
        return true;
    }

    @Test
    void allocationTellsWrittenFromInheritedFromZeros() {
        engine.create(1, 2 * PC);
        engine.write(1, 0, bytes(2 * SEG, 1)); // segments 0-1 of the image
        engine.write(1, PC, bytes(SEG, 2)); // segment 16, in the second PC
        engine.freeze(1);
        engine.createChild(2, 1);
        engine.write(2, SEG + 10, bytes(10, 3)); // redirects segment 1 into the clone
        engine.writeZeroes(2, 0, SEG); // segment 0, zeroed over the image's data

        assertThat(engine.allocation(2, 0, 2 * PC))
                .containsExactly(
                        new Extent(0, SEG, SegmentOrigin.ZEROED, 1),
                        new Extent(SEG, SEG, SegmentOrigin.WRITTEN, 1),
                        new Extent(2 * SEG, PC - 2 * SEG, SegmentOrigin.UNWRITTEN, 0),
                        new Extent(PC, SEG, SegmentOrigin.INHERITED, 2),
                        new Extent(PC + SEG, PC - SEG, SegmentOrigin.UNWRITTEN, 0));
        assertThat(engine.allocation(1, 100, SEG))
                .as("the frozen image itself, cut to the range asked for")
                .containsExactly(new Extent(100, SEG, SegmentOrigin.WRITTEN, 1));
    }

    @Test
    void allocationCountsHowFarUpTheChainEachSegmentComesFrom() {
        engine.create(1, PC);
        engine.write(1, 0, bytes(SEG, 1)); // segment 0 in the image
        engine.freeze(1);
        engine.createChild(2, 1);
        engine.write(2, SEG, bytes(SEG, 2)); // segment 1 in the snapshot
        engine.freeze(2);
        engine.createChild(3, 2);
        engine.write(3, 2 * SEG, bytes(SEG, 3)); // segment 2 in the clone

        assertThat(engine.allocation(3, 0, 4 * SEG)).extracting(Extent::depth).containsExactly(3, 2, 1, 0);
    }
}
