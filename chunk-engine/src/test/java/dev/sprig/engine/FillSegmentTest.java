package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The self-healing primitives: what an lc holds itself, reading its own segments and filling the
 * segments it does not hold yet without ever overwriting a client write.
 */
class FillSegmentTest {

    private static final int SEG = Layout.SEGMENT_SIZE;
    private static final long PC = Layout.PC_SIZE;
    private static final int BLOCK = Layout.BLOCK_SIZE;

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

    private void reopen() {
        engine.close();
        engine = ChunkEngine.open(dir);
    }

    private static byte[] bytes(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static int[] crcsOf(byte[] segment) {
        int[] crcs = new int[Layout.BLOCKS_PER_SEGMENT];
        BlockCrc.ofBlocks(ByteBuffer.wrap(segment), 0, SEG, crcs, 0);
        return crcs;
    }

    private byte[] readOwn(long lc, long pc, int s) {
        ByteBuffer dst = ByteBuffer.allocate(SEG);
        assertThat(engine.readOwnSegment(lc, pc, s, dst)).isEqualTo(SegmentState.DATA);
        assertThat(dst.position()).isEqualTo(SEG);
        return dst.array();
    }

    /** An image (lc 1, frozen, data in PC 0 segment 0) and its writable clone (lc 2). */
    private byte[] imageAndClone() {
        byte[] image = bytes(SEG, 1);
        engine.create(1, 4 * PC);
        engine.write(1, 0, image);
        engine.freeze(1);
        engine.createChild(2, 1);
        return image;
    }

    @Test
    void ownSegmentsListsOnlyWhatTheLcHoldsItselfWithItsBlockCrcs() {
        byte[] image = imageAndClone();
        byte[] written = bytes(SEG, 2);
        engine.write(2, 2 * PC + 3L * SEG, written);
        engine.writeZeroes(2, 0, SEG); // over the image's data: a zero mark

        List<OwnedPc> own = engine.ownSegments(2, 0, 4);

        assertThat(own).extracting(OwnedPc::pc).containsExactly(0L, 2L);
        OwnedPc pc2 = own.get(1);
        for (int s = 0; s < 16; s++) {
            assertThat(pc2.state(s)).isEqualTo(s == 3 ? SegmentState.DATA : SegmentState.UNOWNED);
        }
        assertThat(pc2.crcs().get(3)).containsExactly(crcsOf(written));
        assertThat(pc2.crcs().get(0)).isNull();
        assertThat(own.get(0).state(0)).isEqualTo(SegmentState.ZERO);
        assertThat(own.get(0).crcs().get(0)).isNull();
        // the image's segment is the image's, not the clone's
        assertThat(engine.ownSegments(1, 0, 4)).singleElement().satisfies(p -> {
            assertThat(p.state(0)).isEqualTo(SegmentState.DATA);
            assertThat(p.crcs().get(0)).containsExactly(crcsOf(image));
        });
        assertThat(engine.ownSegments(2, 1, 1)).isEmpty();
        assertThat(engine.ownSegments(2, 2, 2)).extracting(OwnedPc::pc).containsExactly(2L);
    }

    @Test
    void ownSegmentsRefusesPcsOutsideTheLc() {
        engine.create(1, 2 * PC);

        assertThatThrownBy(() -> engine.ownSegments(1, 0, 3)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.ownSegments(1, -1, 1)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.ownSegments(1, 1, -1)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.ownSegments(9, 0, 1)).isInstanceOf(UnknownLcException.class);
        assertThat(engine.ownSegments(1, 2, 0)).isEmpty();
    }

    @Test
    void readOwnSegmentReadsOnlyTheLcsOwnDataNeverThroughItsParent() {
        byte[] image = imageAndClone();
        ByteBuffer dst = ByteBuffer.allocate(SEG);

        assertThat(engine.readOwnSegment(2, 0, 0, dst)).isEqualTo(SegmentState.UNOWNED);
        assertThat(dst.position()).isZero();
        assertThat(readOwn(1, 0, 0)).isEqualTo(image);

        engine.writeZeroes(2, 0, SEG);
        assertThat(engine.readOwnSegment(2, 0, 0, dst)).isEqualTo(SegmentState.ZERO);
        assertThat(dst.position()).isZero();
    }

    @Test
    void readOwnSegmentReportsCorruption() throws Exception {
        engine.create(1, PC);
        engine.write(1, SEG, bytes(SEG, 3));
        engine.flush(1);
        try (var ch =
                java.nio.channels.FileChannel.open(dir.resolve("lc-1.data"), java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {42, 43}), SEG + 5 * BLOCK + 7);
        }

        assertThatThrownBy(() -> engine.readOwnSegment(1, 0, 1, ByteBuffer.allocate(SEG)))
                .isInstanceOf(CorruptionException.class)
                .hasMessageContaining("block 5");
    }

    @Test
    void fillOfAnUnownedSegmentMakesItTheLcsOwnAndReadsBack() {
        imageAndClone();
        byte[] fill = bytes(SEG, 4);

        assertThat(engine.fillSegment(2, 0, 0, ByteBuffer.wrap(fill))).isTrue();
        assertThat(engine.fillSegment(2, 1, 7, ByteBuffer.wrap(fill))).isTrue();

        assertThat(engine.read(2, 0, SEG)).isEqualTo(fill);
        assertThat(engine.read(2, PC + 7L * SEG, SEG)).isEqualTo(fill);
        assertThat(readOwn(2, 1, 7)).isEqualTo(fill);
        assertThat(engine.ownSegments(2, 0, 4))
                .extracting(p -> p.crcs().get(p.pc() == 0 ? 0 : 7))
                .containsExactly(crcsOf(fill), crcsOf(fill));
    }

    @Test
    void fillAfterALiveWriteIsRefusedAndTheLiveDataStays() {
        byte[] image = imageAndClone();
        byte[] ownData = bytes(SEG, 50);
        byte[] live = bytes(BLOCK, 5);
        engine.write(2, 3 * BLOCK, live);
        engine.write(2, SEG, ownData);
        engine.writeZeroes(2, SEG, SEG); // over the lc's own data: a zero mark
        ByteBuffer fill = ByteBuffer.wrap(bytes(SEG, 6));

        assertThat(engine.fillSegment(2, 0, 0, fill)).isFalse();
        assertThat(engine.fillSegment(2, 0, 1, fill)).isFalse();
        assertThat(engine.fillZeroSegment(2, 0, 0)).isFalse();
        assertThat(fill.position()).isZero();

        byte[] expected = image.clone();
        System.arraycopy(live, 0, expected, 3 * BLOCK, BLOCK);
        assertThat(engine.read(2, 0, SEG)).isEqualTo(expected);
        assertThat(engine.read(2, SEG, SEG)).containsOnly(0);
    }

    @Test
    void aWriteAfterAFillLandsOnTheFilledSegment() {
        imageAndClone();
        byte[] fill = bytes(SEG, 7);
        byte[] live = bytes(BLOCK, 8);

        engine.fillSegment(2, 0, 2, ByteBuffer.wrap(fill));
        engine.write(2, 2L * SEG + BLOCK, live);

        byte[] expected = fill.clone();
        System.arraycopy(live, 0, expected, BLOCK, BLOCK);
        assertThat(engine.read(2, 2L * SEG, SEG)).isEqualTo(expected);
    }

    @Test
    void aZeroFillHidesTheParentsDataAndStoresNothing() {
        imageAndClone();

        assertThat(engine.fillZeroSegment(2, 0, 0)).isTrue();

        assertThat(engine.read(2, 0, SEG)).containsOnly(0);
        assertThat(engine.ownSegments(2, 0, 1).get(0).state(0)).isEqualTo(SegmentState.ZERO);
        assertThat(engine.stats(2).bytesStored()).isZero();
        assertThat(engine.fillSegment(2, 0, 0, ByteBuffer.wrap(bytes(SEG, 9)))).isFalse();
    }

    @Test
    void fillRefusesSegmentsOutsideTheLcAndShortBuffers() {
        engine.create(1, PC + SEG);
        ByteBuffer seg = ByteBuffer.allocate(SEG);

        assertThatThrownBy(() -> engine.fillSegment(1, 0, 16, seg)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.fillSegment(1, 0, -1, seg)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.fillSegment(1, 1, 1, seg)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.fillSegment(1, 2, 0, seg)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.fillSegment(1, 0, 0, ByteBuffer.allocate(SEG - 1)))
                .isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.fillSegment(7, 0, 0, seg)).isInstanceOf(UnknownLcException.class);
        assertThat(engine.fillSegment(1, 1, 0, seg)).isTrue();
    }

    @Test
    void fillsSurviveCloseAndReopen() {
        imageAndClone();
        byte[] fill = bytes(SEG, 10);
        engine.fillSegment(2, 0, 0, ByteBuffer.wrap(fill));
        engine.fillZeroSegment(2, 0, 1);
        engine.fillSegment(2, 3, 15, ByteBuffer.wrap(fill));

        reopen();

        assertThat(engine.read(2, 0, SEG)).isEqualTo(fill);
        assertThat(engine.read(2, 3 * PC + 15L * SEG, SEG)).isEqualTo(fill);
        assertThat(engine.ownSegments(2, 0, 4))
                .extracting(p -> p.state(p.pc() == 0 ? 1 : 15))
                .containsExactly(SegmentState.ZERO, SegmentState.DATA);
    }

    @Test
    void flushedFillsAreReplayedFromTheJournalAfterAKill() throws Exception {
        // a second engine cannot open a locked directory, so the journal is replayed into a copy
        imageAndClone();
        byte[] fill = bytes(SEG, 11);
        engine.fillSegment(2, 1, 4, ByteBuffer.wrap(fill));
        engine.fillZeroSegment(2, 0, 0);
        engine.flush(2);
        Path copy = dir.resolveSibling(dir.getFileName() + "-copy");
        copyTree(dir, copy);

        try (ChunkEngine replayed = ChunkEngine.open(copy)) {
            assertThat(replayed.read(2, PC + 4L * SEG, SEG)).isEqualTo(fill);
            assertThat(replayed.read(2, 0, SEG)).containsOnly(0);
        }
    }

    @Test
    void aFillOfAFrozenLcIsInTheJournalWhenItReturnsWithoutAFlush() throws Exception {
        engine.create(1, PC);
        engine.freeze(1);
        byte[] fill = bytes(SEG, 16);
        engine.fillSegment(1, 0, 9, ByteBuffer.wrap(fill));
        engine.fillZeroSegment(1, 0, 10);
        Path copy = dir.resolveSibling(dir.getFileName() + "-frozen-copy");
        copyTree(dir, copy);

        try (ChunkEngine replayed = ChunkEngine.open(copy)) {
            assertThat(replayed.read(1, 9L * SEG, SEG)).isEqualTo(fill);
            assertThat(replayed.ownSegments(1, 0, 1).get(0).state(10)).isEqualTo(SegmentState.ZERO);
            assertThat(replayed.info(1).frozen()).isTrue();
        }
    }

    @Test
    void severalSegmentsOfAFrozenPcAreFilledTogetherOnlyWhereItHoldsNothingAndAreDurableOnReturn() throws Exception {
        engine.create(1, 2 * PC);
        byte[] held = bytes(SEG, 20);
        engine.write(1, PC, held);
        engine.freeze(1);
        engine.createChild(2, 1);
        assertThat(engine.read(2, PC, SEG)).isEqualTo(held);
        byte[] three = bytes(SEG, 21);
        byte[] five = bytes(SEG, 22);
        ByteBuffer threeBuffer = ByteBuffer.wrap(three);

        int filled = engine.fillSegments(
                1,
                1,
                List.of(
                        new SegmentFill(0, ByteBuffer.wrap(bytes(SEG, 23))), // held: stays as it is
                        new SegmentFill(3, threeBuffer),
                        SegmentFill.zeros(4),
                        new SegmentFill(5, ByteBuffer.wrap(five)),
                        new SegmentFill(3, ByteBuffer.wrap(bytes(SEG, 24))))); // listed twice: filled once

        assertThat(filled).isEqualTo((1 << 3) | (1 << 4) | (1 << 5));
        assertThat(threeBuffer.position()).as("a filled buffer is consumed").isEqualTo(SEG);
        assertThat(engine.read(2, PC, SEG))
                .as("the child reads the held segment")
                .isEqualTo(held);
        assertThat(engine.read(2, PC + 3L * SEG, SEG)).as("and the filled ones").isEqualTo(three);
        assertThat(engine.read(2, PC + 5L * SEG, SEG)).isEqualTo(five);
        Path copy = dir.resolveSibling(dir.getFileName() + "-batch-copy");
        copyTree(dir, copy);
        try (ChunkEngine replayed = ChunkEngine.open(copy)) {
            OwnedPc pc = replayed.ownSegments(1, 1, 1).get(0);
            assertThat(pc.state(4)).isEqualTo(SegmentState.ZERO);
            assertThat(replayed.read(1, PC, SEG)).isEqualTo(held);
            assertThat(replayed.read(1, PC + 3L * SEG, SEG)).isEqualTo(three);
            assertThat(replayed.read(1, PC + 5L * SEG, SEG)).isEqualTo(five);
            assertThat(replayed.scrub().damaged()).isEmpty();
        }
        assertThat(engine.fillSegments(1, 1, List.of(SegmentFill.zeros(3), SegmentFill.zeros(4))))
                .as("nothing left to fill")
                .isZero();
    }

    @Test
    void aPcsConsecutiveSegmentsAreFilledAndReadBackTogetherAsWrittenAndSurviveAReopen() {
        engine.create(1, 2 * PC);
        engine.freeze(1);
        Map<Integer, byte[]> data = new HashMap<>();
        List<SegmentFill> fills = new java.util.ArrayList<>();
        for (int s : new int[] {2, 3, 4, 5, 6, 7, 8, 9, 12}) {
            data.put(s, bytes(SEG, 40 + s));
            fills.add(new SegmentFill(s, ByteBuffer.wrap(data.get(s))));
        }
        fills.add(SegmentFill.zeros(10));

        assertThat(engine.fillSegments(1, 1, fills)).isEqualTo(0b1_0111_1111_1100);

        for (int round = 0; round < 2; round++) {
            ByteBuffer[] dst = new ByteBuffer[Layout.SEGMENTS_PER_PC];
            for (int s = 0; s < dst.length; s++) {
                dst[s] = ByteBuffer.allocate(SEG);
            }
            int read = engine.readOwnSegments(1, 1, 0xffff, dst);

            assertThat(read)
                    .as("the data segments, not the zero or unowned ones")
                    .isEqualTo(0b1_0011_1111_1100);
            for (int s = 0; s < dst.length; s++) {
                if (data.containsKey(s)) {
                    assertThat(dst[s].position()).isEqualTo(SEG);
                    assertThat(dst[s].array()).as("segment %d", s).isEqualTo(data.get(s));
                } else {
                    assertThat(dst[s].position())
                            .as("segment %d is not read", s)
                            .isZero();
                }
            }
            reopen();
        }
    }

    @Test
    void readOwnSegmentsOfAWritableLcReadsOnlyTheWantedSegmentsItHoldsAsData() {
        byte[] image = imageAndClone();
        byte[] one = bytes(SEG, 50);
        byte[] three = bytes(SEG, 51);
        engine.write(2, SEG, one);
        engine.write(2, 3L * SEG, three);
        engine.writeZeroes(2, 2L * SEG, SEG);
        ByteBuffer[] dst = new ByteBuffer[Layout.SEGMENTS_PER_PC];
        for (int s = 0; s < 4; s++) {
            dst[s] = ByteBuffer.allocate(SEG);
        }

        assertThat(engine.readOwnSegments(2, 0, 0b0111, dst))
                .as("segment 0 reads through the image, 2 is zeros, 3 is not wanted")
                .isEqualTo(0b0010);
        assertThat(dst[1].array()).isEqualTo(one);
        assertThat(dst[3].position()).isZero();
        assertThat(engine.readOwnSegments(1, 0, 0b0001, dst)).isEqualTo(0b0001);
        assertThat(dst[0].array()).isEqualTo(image);
    }

    @Test
    void readOwnSegmentsReportsCorruptionInsideARunOfAFrozenLc() throws Exception {
        engine.create(1, PC);
        engine.write(1, 0, bytes(3 * SEG, 60));
        engine.flush(1);
        engine.freeze(1);
        try (var ch =
                java.nio.channels.FileChannel.open(dir.resolve("lc-1.data"), java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {42, 43}), 2L * SEG + 9 * BLOCK + 7);
            ch.force(true);
        }
        ByteBuffer[] dst = new ByteBuffer[Layout.SEGMENTS_PER_PC];
        for (int s = 0; s < 3; s++) {
            dst[s] = ByteBuffer.allocate(SEG);
        }

        assertThatThrownBy(() -> engine.readOwnSegments(1, 0, 0b0111, dst))
                .isInstanceOf(CorruptionException.class)
                .hasMessageContaining("block 9");
    }

    private static void copyTree(Path from, Path to) throws Exception {
        java.nio.file.Files.createDirectories(to);
        try (var files = java.nio.file.Files.list(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (!f.getFileName().toString().endsWith(".lock")) {
                    java.nio.file.Files.copy(f, to.resolve(f.getFileName()));
                }
            }
        }
    }

    @Test
    void replaceOverwritesHeldDataAndZerosOfAWritableLcAndSurvivesAReopen() {
        imageAndClone();
        engine.write(2, SEG, bytes(SEG, 30)); // held data
        engine.writeZeroes(2, 2L * SEG, SEG); // held zeros
        byte[] first = bytes(SEG, 31);
        byte[] second = bytes(SEG, 32);
        byte[] third = bytes(SEG, 33);

        engine.replaceSegment(2, 0, 1, ByteBuffer.wrap(first));
        engine.replaceSegment(2, 0, 2, ByteBuffer.wrap(second));
        engine.replaceSegment(2, 0, 0, ByteBuffer.wrap(third)); // unowned: over the image's
        engine.replaceZeroSegment(2, 0, 3); // unowned, nothing in the chain: an explicit zero mark

        assertThat(readOwn(2, 0, 1)).isEqualTo(first);
        assertThat(readOwn(2, 0, 2)).isEqualTo(second);
        assertThat(readOwn(2, 0, 0)).isEqualTo(third);
        assertThat(engine.ownSegments(2, 0, 1).get(0).crcs().get(1)).containsExactly(crcsOf(first));
        assertThat(engine.ownSegments(2, 0, 1).get(0).state(3)).isEqualTo(SegmentState.ZERO);
        engine.replaceZeroSegment(2, 0, 1);
        assertThat(engine.read(2, SEG, SEG)).containsOnly(0);
        engine.flush(2);

        reopen();
        assertThat(readOwn(2, 0, 2)).isEqualTo(second);
        assertThat(readOwn(2, 0, 0)).isEqualTo(third);
        assertThat(engine.ownSegments(2, 0, 1).get(0).state(1)).isEqualTo(SegmentState.ZERO);
        assertThat(engine.scrub().damaged()).isEmpty();
    }

    @Test
    void replaceOverwritesAFrozenLcsHeldSegmentAndItsChildrenReadTheNewBytesAtOnce() {
        byte[] image = imageAndClone();
        assertThat(engine.read(2, 0, SEG)).isEqualTo(image); // the clone's resolved-PC cache knows it
        byte[] replaced = bytes(SEG, 34);

        engine.replaceSegment(1, 0, 0, ByteBuffer.wrap(replaced));

        assertThat(engine.info(1).frozen()).isTrue();
        assertThat(readOwn(1, 0, 0)).isEqualTo(replaced);
        assertThat(engine.read(2, 0, SEG)).isEqualTo(replaced);
        engine.replaceZeroSegment(1, 0, 0);
        assertThat(engine.read(2, 0, SEG)).containsOnly(0);
        engine.replaceSegment(1, 0, 0, ByteBuffer.wrap(replaced));

        reopen();
        assertThat(readOwn(1, 0, 0)).isEqualTo(replaced);
        assertThat(engine.read(2, 0, SEG)).isEqualTo(replaced);
        assertThat(engine.scrub().damaged()).isEmpty();
    }

    @Test
    void aGuardedReplaceRepairsAFrozenSegmentWhoseBytesRottedOnDiskAndItsChildrenReadTheGoodBytes() throws Exception {
        byte[] image = imageAndClone();
        try (var ch =
                java.nio.channels.FileChannel.open(dir.resolve("lc-1.data"), java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) ~image[9 * BLOCK]}), 9 * BLOCK);
        }
        reopen(); // nothing cached: the rot is what a read sees
        assertThat(engine.scrub().damaged()).containsExactly(new DamagedSegment(1, 0, 0));
        assertThatThrownBy(() -> engine.read(2, 0, SEG)).isInstanceOf(CorruptionException.class);

        boolean replaced = engine.replaceSegmentIf(1, 0, 0, SegmentState.DATA, crcsOf(image), ByteBuffer.wrap(image));

        assertThat(replaced).isTrue();
        assertThat(engine.read(2, 0, SEG)).isEqualTo(image);
        assertThat(engine.scrub().damaged()).isEmpty();
        reopen();
        assertThat(engine.read(2, 0, SEG)).isEqualTo(image);
    }

    @Test
    void aGuardedReplaceChangesNothingWhereTheLcNoLongerHoldsWhatTheCallerSaw() {
        byte[] image = imageAndClone();
        byte[] seen = bytes(SEG, 40);
        engine.write(2, 0, seen);
        int[] seenCrcs = crcsOf(seen);
        byte[] written = bytes(SEG, 41);
        engine.write(2, 0, written); // a write landed after the caller compared the replicas

        assertThat(engine.replaceSegmentIf(2, 0, 0, SegmentState.DATA, seenCrcs, ByteBuffer.wrap(bytes(SEG, 42))))
                .isFalse();
        assertThat(engine.replaceSegmentIf(2, 0, 1, SegmentState.DATA, seenCrcs, null))
                .isFalse(); // unowned
        assertThat(engine.replaceSegmentIf(1, 0, 1, SegmentState.ZERO, null, ByteBuffer.wrap(seen)))
                .isFalse();

        assertThat(engine.read(2, 0, SEG)).isEqualTo(written);
        assertThat(engine.ownSegments(2, 0, 1).get(0).state(1)).isEqualTo(SegmentState.UNOWNED);
        assertThat(readOwn(1, 0, 0)).isEqualTo(image);
        assertThat(engine.replaceSegmentIf(2, 0, 1, SegmentState.UNOWNED, null, null))
                .isTrue();
        assertThat(engine.ownSegments(2, 0, 1).get(0).state(1)).isEqualTo(SegmentState.ZERO);
        assertThat(engine.replaceSegmentIf(2, 0, 0, SegmentState.DATA, crcsOf(written), ByteBuffer.wrap(seen)))
                .isTrue();
        assertThat(engine.read(2, 0, SEG)).isEqualTo(seen);
    }

    @Test
    void aFrozenReplaceIsInTheJournalWhenItReturns() throws Exception {
        engine.create(1, PC);
        engine.write(1, 0, bytes(SEG, 35));
        engine.flush(1);
        engine.freeze(1);
        byte[] replaced = bytes(SEG, 36);
        engine.replaceSegment(1, 0, 0, ByteBuffer.wrap(replaced));
        Path copy = dir.resolveSibling(dir.getFileName() + "-replaced-copy");
        copyTree(dir, copy);

        try (ChunkEngine replayed = ChunkEngine.open(copy)) {
            assertThat(replayed.read(1, 0, SEG)).isEqualTo(replaced);
            assertThat(replayed.scrub().damaged()).isEmpty();
        }
    }

    @Test
    void aFrozenLcCanBeFilledAndItsChildrenThenReadTheFilledData() {
        engine.create(1, 2 * PC);
        engine.freeze(1);
        engine.createChild(2, 1);
        engine.freeze(2);
        engine.createChild(3, 2);
        // the resolved-PC cache now knows PC 0 of lcs 1 and 2 as all zeros
        assertThat(engine.read(3, 0, SEG)).containsOnly(0);
        assertThat(engine.read(2, 0, SEG)).containsOnly(0);
        byte[] fill = bytes(SEG, 12);

        assertThat(engine.fillSegment(1, 0, 0, ByteBuffer.wrap(fill))).isTrue();
        assertThat(engine.fillZeroSegment(2, 0, 1)).isTrue();

        assertThat(engine.read(1, 0, SEG)).isEqualTo(fill);
        assertThat(engine.read(2, 0, SEG)).isEqualTo(fill);
        assertThat(engine.read(3, 0, SEG)).isEqualTo(fill);
        assertThat(engine.fillSegment(1, 0, 0, ByteBuffer.wrap(bytes(SEG, 13)))).isFalse();
        assertThat(engine.info(1).frozen()).isTrue();

        reopen();
        assertThat(engine.read(3, 0, SEG)).isEqualTo(fill);
        assertThat(readOwn(1, 0, 0)).isEqualTo(fill);
        assertThat(engine.ownSegments(2, 0, 1).get(0).state(1)).isEqualTo(SegmentState.ZERO);
        assertThat(engine.scrub().damaged()).isEmpty();
    }

    @Test
    void fillsOfAFrozenLcFromSeveralThreadsFillEachSegmentOnceAndSurviveAReplay() throws Exception {
        // a rebuild target fills several PCs of one frozen lc at once (fills of different PCs go
        // side by side); two copies racing for the same PC must still fill each segment once
        int pcs = 24;
        engine.create(1, pcs * PC);
        engine.freeze(1);
        engine.createChild(2, 1);
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Integer>> copies = new java.util.ArrayList<>();
        try {
            for (int copy = 0; copy < 4; copy++) {
                int first = copy % 2; // two copies of the even PCs, two of the odd ones, in opposite orders
                boolean reversed = copy >= 2;
                copies.add(pool.submit(() -> {
                    start.await();
                    int filled = 0;
                    for (int i = 0; i < pcs / 2; i++) {
                        long pc = first + 2L * (reversed ? pcs / 2 - 1 - i : i);
                        List<SegmentFill> fills = new java.util.ArrayList<>();
                        for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                            fills.add(
                                    s % 5 == 4
                                            ? SegmentFill.zeros(s)
                                            : new SegmentFill(s, ByteBuffer.wrap(bytes(SEG, pc * 16 + s))));
                        }
                        filled += Integer.bitCount(engine.fillSegments(1, pc, fills));
                    }
                    return filled;
                }));
            }
            start.countDown();
            int filled = 0;
            for (Future<Integer> copy : copies) {
                filled += copy.get();
            }
            assertThat(filled).as("every segment filled by exactly one copy").isEqualTo(pcs * Layout.SEGMENTS_PER_PC);
        } finally {
            pool.shutdown();
        }

        Path copy = dir.resolveSibling(dir.getFileName() + "-concurrent-copy");
        copyTree(dir, copy);
        try (ChunkEngine replayed = ChunkEngine.open(copy)) {
            for (ChunkEngine e : List.of(engine, replayed)) {
                for (long pc = 0; pc < pcs; pc++) {
                    for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                        long offset = pc * PC + (long) s * SEG;
                        assertThat(e.read(2, offset, SEG))
                                .as("PC %d segment %d", pc, s)
                                .isEqualTo(s % 5 == 4 ? new byte[SEG] : bytes(SEG, pc * 16 + s));
                    }
                }
                assertThat(e.scrub().damaged()).isEmpty();
            }
        }
    }

    @Test
    void concurrentWritesAndFillsOfTheSameSegmentsKeepEveryLiveWrite() throws Exception {
        int segments = 64;
        engine.create(1, segments * (long) SEG);
        engine.freeze(1);
        engine.createChild(2, 1);
        byte[] fill = bytes(SEG, 14);
        Map<Integer, byte[]> lastWrite = new HashMap<>(); // block number -> bytes, written by one thread
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<?> writes = pool.submit(() -> {
                Random r = new Random(15);
                start.await();
                for (int i = 0; i < 3000; i++) {
                    int block = r.nextInt(segments * Layout.BLOCKS_PER_SEGMENT);
                    byte[] b = bytes(BLOCK, 1000 + i);
                    engine.write(2, (long) block * BLOCK, b);
                    lastWrite.put(block, b);
                }
                return null;
            });
            Future<?> fills = pool.submit(() -> {
                start.await();
                for (int round = 0; round < 2; round++) {
                    for (int s = 0; s < segments; s++) {
                        engine.fillSegment(2, s / 16, s % 16, ByteBuffer.wrap(fill));
                    }
                }
                return null;
            });
            start.countDown();
            writes.get();
            fills.get();
        } finally {
            pool.shutdown();
        }

        byte[] all = engine.read(2, 0, segments * SEG);
        for (int block = 0; block < segments * Layout.BLOCKS_PER_SEGMENT; block++) {
            byte[] actual = java.util.Arrays.copyOfRange(all, block * BLOCK, (block + 1) * BLOCK);
            byte[] written = lastWrite.get(block);
            if (written != null) {
                assertThat(actual).as("block %d", block).isEqualTo(written);
            } else {
                byte[] filled = java.util.Arrays.copyOfRange(fill, (block % 64) * BLOCK, (block % 64 + 1) * BLOCK);
                assertThat(java.util.Arrays.equals(actual, filled) || java.util.Arrays.equals(actual, new byte[BLOCK]))
                        .as("block %d holds the fill or the zeros a write merged before the fill", block)
                        .isTrue();
            }
        }
        // every segment is held by the lc now: by a write or by the fill
        assertThat(engine.ownSegments(2, 0, segments / 16))
                .allSatisfy(p -> assertThat(p.states()).containsOnly(SegmentState.DATA));
        assertThat(engine.scrub().damaged()).isEmpty();
    }
}
