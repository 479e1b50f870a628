package dev.sprig.node.rebuild;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Catch-up (decision 012) over two real engines: the source's lc took writes the target's missed,
 * so the target holds old versions of them. Suspect segments are replaced from the source before a
 * partial write merges with them, and the catch-up's fill, racing with live writes, never puts back
 * bytes over a write the target took.
 */
class CatchUpTest {

    static final int SEG = ChunkEngine.SEGMENT_SIZE;
    static final long PC = ChunkEngine.PC_SIZE;
    static final long LC = 1;
    static final int SEGMENTS = 32;
    static final RebuildSource FROM = new RebuildSource("http://source:8081", "source-token", LC);

    @TempDir
    Path dir;

    ChunkEngine source;
    ChunkEngine target;
    RebuildSources sources = new RebuildSources();
    LiveWrites writes;

    @BeforeEach
    void engines() {
        source = ChunkEngine.open(dir.resolve("source"));
        target = ChunkEngine.open(dir.resolve("target"));
        byte[] old = bytes((int) (2 * PC), 1);
        for (ChunkEngine engine : List.of(source, target)) {
            engine.create(LC, 2 * PC);
            engine.write(LC, 0, old);
        }
        // what the target missed: a little of every segment
        for (int segment = 0; segment < SEGMENTS; segment++) {
            source.write(LC, segment * (long) SEG + 8192, bytes(4096, 100 + segment));
        }
        writes = new LiveWrites(target, sources, (from, offset, into) -> source.read(from.lcId(), offset, into));
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

    void writeBoth(long offset, byte[] data) {
        source.write(LC, offset, data);
        writes.write(LC, offset, ByteBuffer.wrap(data));
    }

    void assertSame() {
        for (int segment = 0; segment < SEGMENTS; segment++) {
            assertThat(Arrays.equals(
                            target.read(LC, segment * (long) SEG, SEG), source.read(LC, segment * (long) SEG, SEG)))
                    .as("segment %d reads as the source's", segment)
                    .isTrue();
        }
    }

    @Test
    void withoutACatchUpAPartialWriteIsMergedWithTheOldBytes() {
        writeBoth(SEG + 100, bytes(4096, 2));

        assertThat(Arrays.equals(target.read(LC, SEG, SEG), source.read(LC, SEG, SEG)))
                .as("what a catch-up prevents")
                .isFalse();
    }

    @Test
    void whilePendingOnlyTheColumnsSegmentsAreSuspect() {
        CatchUp catchUp = sources.setCatchUp(LC, FROM, 1, 2);

        assertThat(catchUp.suspect(0)).isFalse();
        assertThat(catchUp.suspect(16)).isTrue(); // PC 1
        writeBoth(16L * SEG + 100, bytes(4096, 3));
        writeBoth(100, bytes(4096, 4));

        assertThat(Arrays.equals(target.read(LC, 16L * SEG, SEG), source.read(LC, 16L * SEG, SEG)))
                .isTrue();
        assertThat(Arrays.equals(target.read(LC, 0, SEG), source.read(LC, 0, SEG)))
                .as("column 0 is not being caught up: merged as usual")
                .isFalse();
        assertThat(catchUp.suspect(16)).as("cleaned").isFalse();
        assertThat(catchUp.markSuspects(List.of(16L, 17L))).isEqualTo(new CatchUp.Marked(1, 1));
        assertThat(catchUp.pending()).isFalse();
        assertThat(catchUp.suspect(18)).isFalse();
    }

    @Test
    void aPlainSourceSetDuringACatchUpKeepsItsSuspects() {
        CatchUp catchUp = sources.setCatchUp(LC, FROM, 0, 1);
        sources.set(LC, FROM);

        assertThat(sources.catchUpOf(LC)).isSameAs(catchUp);
        assertThat(sources.removeCatchUp(LC, 1)).isFalse();
        assertThat(sources.removeCatchUp(LC, 0)).isTrue();
        assertThat(sources.of(LC)).isNull();
    }

    @Test
    void theFillRacingWithLiveWritesLeavesTheTargetAsTheSource() throws Exception {
        CatchUp catchUp = sources.setCatchUp(LC, FROM, 0, 1);
        catchUp.markSuspects(LongStream.range(0, SEGMENTS).boxed().toList());
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<?> live = pool.submit(() -> {
                Random r = new Random(5);
                for (int i = 0; i < 400; i++) {
                    int segment = r.nextInt(SEGMENTS);
                    int block = r.nextInt(SEG / 4096);
                    writeBoth(segment * (long) SEG + block * 4096L + 512, bytes(1024, 1000 + i));
                }
            });
            List<LiveWrites.Replaced> fills = new ArrayList<>();
            Future<?> fill = pool.submit(() -> fills.add(writes.fillSuspects(LC, 0)));
            live.get();
            fill.get();
            // the fill goes over the segments still suspect when it starts: the writes may clean some first
            assertThat(fills.get(0).segmentsReplaced() + fills.get(0).segmentsSkipped())
                    .isBetween(1L, (long) SEGMENTS);
            assertThat(catchUp.cleanedCount())
                    .as("every segment made right, by a write or a replacement")
                    .isEqualTo(SEGMENTS);
        } finally {
            pool.shutdownNow();
        }

        assertSame();
        assertThat(catchUp.suspects()).isEmpty();
    }
}
