package dev.sprig.node.rebuild;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.OwnedPc;
import dev.sprig.engine.SegmentState;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live write path of a rebuilding lc over two real engines: the source's (an image with data,
 * frozen, and its writable clone with data of its own) and the target's, where the same lcs are
 * defined empty, as on a member that has not been filled yet. The target's rebuild source reads the
 * source engine's clone as the source node's data API would: resolved through its parent.
 */
class LiveWritesTest {

    static final int SEG = ChunkEngine.SEGMENT_SIZE;
    static final long PC = ChunkEngine.PC_SIZE;
    static final long IMAGE = 1;
    static final long CLONE = 2;
    static final RebuildSource FROM = new RebuildSource("http://source:8081", "source-token", CLONE);

    @TempDir
    Path dir;

    ChunkEngine source;
    ChunkEngine target;
    RebuildSources sources = new RebuildSources();
    /** The offsets the target read from its source, in order. */
    List<Long> reads = new ArrayList<>();

    boolean sourceDown;
    LiveWrites writes;

    @BeforeEach
    void engines() {
        source = ChunkEngine.open(dir.resolve("source"));
        target = ChunkEngine.open(dir.resolve("target"));
        source.create(IMAGE, 2 * PC);
        source.write(IMAGE, 0, bytes((int) PC, 1)); // all of PC 0
        source.freeze(IMAGE);
        source.createChild(CLONE, IMAGE);
        source.write(CLONE, 3L * SEG, bytes(SEG, 2)); // segment 3: the clone's own
        target.create(IMAGE, 2 * PC);
        target.freeze(IMAGE);
        target.createChild(CLONE, IMAGE);
        writes = new LiveWrites(target, sources, (from, offset, into) -> {
            assertThat(from).isEqualTo(FROM);
            if (sourceDown) {
                throw new SourceUnreadableException("the source is down");
            }
            reads.add(offset);
            source.read(from.lcId(), offset, into);
        });
        sources.set(CLONE, FROM);
    }

    @AfterEach
    void close() {
        source.close();
        target.close();
    }

    static byte[] bytes(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** The same write on the source's clone (where the agent sends it too) and through the target's live path. */
    void writeBoth(long offset, byte[] data) {
        source.write(CLONE, offset, data);
        writes.write(CLONE, offset, ByteBuffer.wrap(data));
    }

    SegmentState ownState(long lc, long segment) {
        long pc = segment / ChunkEngine.SEGMENTS_PER_PC;
        for (OwnedPc owned : target.ownSegments(lc, pc, 1)) {
            return owned.state((int) (segment % ChunkEngine.SEGMENTS_PER_PC));
        }
        return SegmentState.UNOWNED;
    }

    /**
     * The segments read the same on both (the others read through the target's image, which the
     * rebuild has not filled yet). Compared whole, so that a failure names the segment, not 256 KiB.
     */
    void assertReadAsSource(long... segments) {
        for (long segment : segments) {
            assertThat(Arrays.equals(target.read(CLONE, segment * SEG, SEG), source.read(CLONE, segment * SEG, SEG)))
                    .as("segment %d reads as the source's", segment)
                    .isTrue();
        }
    }

    @Test
    void onlyAnLcWithASourceMayWaitForOneSoItsWritesStayOffTheEventLoop() {
        assertThat(writes.mayFetch(CLONE)).isTrue();
        assertThat(writes.mayFetch(IMAGE)).isFalse();

        sources.remove(CLONE);

        assertThat(writes.mayFetch(CLONE)).isFalse();
    }

    @Test
    void aPartialWriteIntoASegmentTheLcDoesNotHoldIsMergedWithTheSourcesResolvedBytes() {
        writeBoth(SEG + 4096, bytes(4096, 3)); // segment 1: the image's data at the source
        writeBoth(3L * SEG + 8192, bytes(4096, 4)); // segment 3: the clone's own at the source

        assertReadAsSource(1, 3);
        assertThat(reads).containsExactly((long) SEG, 3L * SEG);
        assertThat(ownState(CLONE, 1)).isEqualTo(SegmentState.DATA);
    }

    @Test
    void onlyTheFirstWriteIntoASegmentReadsTheSource() {
        writeBoth(SEG + 4096, bytes(4096, 3));
        writeBoth(SEG + 65536, bytes(4096, 4));

        assertReadAsSource(1);
        assertThat(reads).containsExactly((long) SEG);
    }

    @Test
    void aWriteReadsOnlyTheSegmentsItCoversInPart() {
        // from the middle of segment 5 to the middle of segment 8: 6 and 7 are covered whole
        writeBoth(5L * SEG + 1000, bytes(3 * SEG, 5));
        writeBoth(10L * SEG, bytes(SEG, 6)); // a whole segment

        assertReadAsSource(5, 6, 7, 8, 10);
        assertThat(reads).containsExactly(5L * SEG, 8L * SEG);
    }

    @Test
    void aZeroWriteMarksTheWholeSegmentsItCoversZeroEvenWhereNothingHereHoldsData() {
        source.writeZeroes(CLONE, 6L * SEG, 2L * SEG);
        writes.writeZeroes(CLONE, 6L * SEG, 2L * SEG);
        source.trim(CLONE, 20L * SEG, SEG);
        writes.trim(CLONE, 20L * SEG, SEG); // PC 1: no lc has data there

        assertThat(reads).isEmpty();
        assertThat(ownState(CLONE, 6)).isEqualTo(SegmentState.ZERO);
        assertThat(ownState(CLONE, 7)).isEqualTo(SegmentState.ZERO);
        assertThat(ownState(CLONE, 20)).isEqualTo(SegmentState.ZERO);
        // so that the rebuild's fills, which come later, do not bring the image's data back
        assertThat(target.fillSegment(CLONE, 0, 6, ByteBuffer.wrap(bytes(SEG, 7))))
                .isFalse();
        target.fillSegment(IMAGE, 0, 6, ByteBuffer.wrap(source.read(IMAGE, 6L * SEG, SEG)));
        assertThat(target.read(CLONE, 6L * SEG, 2 * SEG)).containsOnly(0);
    }

    @Test
    void aPartialZeroWriteFillsTheSegmentFromTheSourceFirst() {
        source.writeZeroes(CLONE, 9L * SEG + 4096, 8192);
        writes.writeZeroes(CLONE, 9L * SEG + 4096, 8192);

        assertReadAsSource(9);
        assertThat(reads).containsExactly(9L * SEG);
    }

    @Test
    void anLcWithoutASourceWritesAsTheEngineDoes() {
        sources.remove(CLONE);
        writes.write(CLONE, SEG + 4096, ByteBuffer.wrap(bytes(4096, 3)));
        writes.writeZeroes(CLONE, 6L * SEG, SEG);

        assertThat(reads).isEmpty();
        // merged with the target's own (empty) image: what the fill on first write is there to avoid
        assertThat(target.read(CLONE, SEG, 4096)).containsOnly(0);
        assertThat(ownState(CLONE, 6)).isEqualTo(SegmentState.UNOWNED);
    }

    @Test
    void aSourceThatFailsFailsTheWriteBeforeItChangesAnything() {
        sourceDown = true;
        byte[] data = bytes(SEG, 8);

        assertThatThrownBy(() -> writes.write(CLONE, SEG + 4096, ByteBuffer.wrap(data)))
                .isInstanceOf(SourceUnreadableException.class)
                .hasMessageContaining("down");
        assertThatThrownBy(() -> writes.writeZeroes(CLONE, 4096, 3L * SEG))
                .isInstanceOf(SourceUnreadableException.class);

        assertThat(target.ownSegments(CLONE, 0, 2)).isEmpty();
        assertThat(target.read(CLONE, 0, (int) (2 * PC))).as("the whole lc").containsOnly(0);
        // what needs no segment from the source still works
        writes.write(CLONE, 4L * SEG, ByteBuffer.wrap(data));
        writes.writeZeroes(CLONE, 5L * SEG, SEG);
        assertThat(target.read(CLONE, 4L * SEG, SEG)).isEqualTo(data);
        assertThat(ownState(CLONE, 5)).isEqualTo(SegmentState.ZERO);
    }

    @Test
    void aSourceThatFailsIsFollowedByTheNextAndTheWriteGoesThrough() {
        RebuildSource dead = new RebuildSource("http://dead:8081", "dead-token", CLONE);
        List<RebuildSource> tried = new ArrayList<>();
        writes = new LiveWrites(target, sources, (from, offset, into) -> {
            tried.add(from);
            if (from.equals(dead)) {
                throw new SourceUnreadableException("connection refused");
            }
            source.read(from.lcId(), offset, into);
        });
        sources.set(CLONE, List.of(dead, FROM), null);

        writeBoth(SEG + 4096, bytes(4096, 3));

        assertReadAsSource(1);
        assertThat(tried).containsExactly(dead, FROM);
    }

    @Test
    void sourcesOfSomeColumnsServeOnlyTheirPcsAndTheOthersMergeWithTheLcsOwnChain() {
        sources.set(CLONE, List.of(FROM), new RebuildSources.Columns(Set.of(1), 2));

        writes.write(CLONE, SEG + 4096, ByteBuffer.wrap(bytes(4096, 3))); // PC 0: column 0, in sync here
        writes.writeZeroes(CLONE, 6L * SEG, SEG);
        writeBoth(PC + SEG + 4096, bytes(4096, 4)); // PC 1: column 1, being rebuilt

        assertThat(reads).containsExactly(PC + SEG);
        assertThat(ownState(CLONE, 6)).isEqualTo(SegmentState.UNOWNED);
        assertReadAsSource(ChunkEngine.SEGMENTS_PER_PC + 1);
    }

    @Test
    void aFrozenLcIsRefusedByTheEngineWithoutReadingTheSource() {
        sources.set(IMAGE, FROM);
        assertThatThrownBy(() -> writes.write(IMAGE, 4096, ByteBuffer.wrap(bytes(4096, 9))))
                .isInstanceOf(dev.sprig.engine.FrozenLcException.class);
        assertThat(reads).isEmpty();
    }
}
