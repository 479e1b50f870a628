package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node does a write on its event loop only when the engine says it rewrites data the lc holds
 * without waiting: a first write into a segment (a redirect through the parent) or a write over a
 * zero mark is not one, nor is any write the engine would refuse, nor any while a whole segment is
 * written into the lc's file with direct I/O.
 */
class RewritesInPlaceTest {

    static final int SEG = ChunkEngine.SEGMENT_SIZE;

    @TempDir
    Path dir;

    ChunkEngine engine;

    @BeforeEach
    void open() {
        engine = ChunkEngine.open(dir);
        engine.create(1, 4L * SEG);
        engine.write(1, 0, new byte[4 * SEG]);
        engine.freeze(1);
        engine.createChild(2, 1);
    }

    @AfterEach
    void close() {
        engine.close();
    }

    @Test
    void aSegmentTheCloneHoldsIsRewrittenInPlaceOneItSharesWithItsParentIsNot() {
        assertThat(engine.rewritesInPlace(2, 0, 4096)).isFalse();

        engine.write(2, 0, new byte[4096]);

        assertThat(engine.rewritesInPlace(2, 0, 4096)).isTrue();
        assertThat(engine.rewritesInPlace(2, SEG - 4096, 4096)).isTrue();
        assertThat(engine.rewritesInPlace(2, SEG - 4096, 8192))
                .as("into the next, shared segment")
                .isFalse();
        assertThat(engine.rewritesInPlace(2, SEG, 4096)).isFalse();
    }

    @Test
    void aZeroMarkIsNotDataHeld() {
        engine.write(2, 0, new byte[4096]);
        engine.writeZeroes(2, 0, SEG);

        assertThat(engine.rewritesInPlace(2, 0, 4096)).isFalse();
    }

    @Test
    void noWriteIsInPlaceWhileAWholeSegmentIsWrittenIntoTheFileWithDirectIo() throws Exception {
        assumeTrue(engine.directIo(), "the file system of the temporary directory refuses direct I/O");
        engine.write(2, 0, new byte[2 * SEG]); // both segments held: whole segments, direct
        AtomicBoolean stop = new AtomicBoolean();
        Thread wholeSegments = new Thread(() -> {
            byte[] segment = new byte[SEG];
            while (!stop.get()) {
                engine.write(2, SEG, segment);
            }
        });
        wholeSegments.start();
        boolean waitedOnce = false;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!waitedOnce && System.nanoTime() < deadline) {
                waitedOnce = !engine.rewritesInPlace(2, 0, 4096);
            }
        } finally {
            stop.set(true);
            wholeSegments.join();
        }

        assertThat(waitedOnce)
                .as("a rewrite of segment 0 while segment 1 is written with direct I/O (ext4 holds the file's lock)")
                .isTrue();
        assertThat(engine.rewritesInPlace(2, 0, 4096))
                .as("once no direct write is in flight")
                .isTrue();
    }

    @Test
    void writesTheEngineRefusesAreNotInPlace() {
        assertThat(engine.rewritesInPlace(1, 0, 4096)).as("frozen").isFalse();
        assertThat(engine.rewritesInPlace(3, 0, 4096)).as("unknown").isFalse();
        engine.write(2, 3L * SEG, new byte[SEG]);
        assertThat(engine.rewritesInPlace(2, 4L * SEG - 4096, 4096)).isTrue();
        assertThat(engine.rewritesInPlace(2, 4L * SEG - 4096, 8192))
                .as("past the end")
                .isFalse();
        assertThat(engine.rewritesInPlace(2, -4096, 4096)).as("negative").isFalse();
        assertThat(engine.rewritesInPlace(2, 0, 0)).as("empty").isFalse();
    }
}
