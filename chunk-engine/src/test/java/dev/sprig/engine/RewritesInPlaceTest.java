package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node does a write on its event loop only when the engine says it rewrites data the lc holds:
 * a first write into a segment (a redirect through the parent) or a write over a zero mark is not
 * one, nor is any write the engine would refuse.
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
