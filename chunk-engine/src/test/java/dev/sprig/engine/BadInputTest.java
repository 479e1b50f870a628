package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every refused call names its reason with a specific exception and changes nothing. */
class BadInputTest {

    private static final long PC = Layout.PC_SIZE;

    @TempDir
    Path dir;

    private ChunkEngine engine;
    private List<LcInfo> before;
    private byte[] contentBefore;

    @BeforeEach
    void setUp() {
        engine = ChunkEngine.open(dir);
        engine.create(1, PC);
        engine.write(1, 0, new byte[] {1, 2, 3});
        engine.freeze(1);
        engine.createChild(2, 1);
        engine.write(2, 10, new byte[] {9});
        before = engine.list();
        contentBefore = engine.read(2, 0, (int) PC);
    }

    @AfterEach
    void stateIsUnchanged() {
        assertThat(engine.list()).isEqualTo(before);
        assertThat(engine.read(2, 0, (int) PC)).isEqualTo(contentBefore);
        engine.close();
    }

    @Test
    void negativeOffsetIsOutOfRange() {
        assertThatThrownBy(() -> engine.read(2, -1, 1)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.write(2, -1, new byte[1])).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.writeZeroes(2, -1, 1)).isInstanceOf(OutOfRangeException.class);
    }

    @Test
    void overflowingOffsetIsOutOfRange() {
        assertThatThrownBy(() -> engine.read(2, Long.MAX_VALUE, 10)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.writeZeroes(2, Long.MAX_VALUE - 1, Long.MAX_VALUE))
                .isInstanceOf(OutOfRangeException.class);
    }

    @Test
    void lengthPastTheEndIsOutOfRange() {
        assertThatThrownBy(() -> engine.read(2, PC - 1, 2)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.write(2, PC, new byte[1])).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.writeZeroes(2, 0, PC + 1)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.read(2, 0, -1)).isInstanceOf(OutOfRangeException.class);
    }

    @Test
    void unknownLcIsReportedByEveryOperation() {
        assertThatThrownBy(() -> engine.read(99, 0, 1)).isInstanceOf(UnknownLcException.class);
        assertThatThrownBy(() -> engine.write(99, 0, new byte[1])).isInstanceOf(UnknownLcException.class);
        assertThatThrownBy(() -> engine.freeze(99)).isInstanceOf(UnknownLcException.class);
        assertThatThrownBy(() -> engine.delete(99)).isInstanceOf(UnknownLcException.class);
        assertThatThrownBy(() -> engine.flush(99)).isInstanceOf(UnknownLcException.class);
        assertThatThrownBy(() -> engine.createChild(3, 99)).isInstanceOf(UnknownLcException.class);
        assertThatThrownBy(() -> engine.flatten(99, FlattenProgress.none())).isInstanceOf(UnknownLcException.class);
        assertThatThrownBy(() -> engine.stats(99)).isInstanceOf(UnknownLcException.class);
    }

    @Test
    void frozenLcRefusesEveryChange() {
        assertThatThrownBy(() -> engine.write(1, 0, new byte[1]))
                .isInstanceOf(FrozenLcException.class)
                .extracting(e -> ((EngineException) e).code())
                .isEqualTo("LC_FROZEN");
        assertThatThrownBy(() -> engine.writeZeroes(1, 0, 1)).isInstanceOf(FrozenLcException.class);
        assertThatThrownBy(() -> engine.grow(1, 2 * PC)).isInstanceOf(FrozenLcException.class);
        assertThatThrownBy(() -> engine.flatten(1, FlattenProgress.none())).isInstanceOf(FrozenLcException.class);
    }

    @Test
    void deletingAParentIsRefused() {
        assertThatThrownBy(() -> engine.delete(1))
                .isInstanceOf(LcHasChildrenException.class)
                .hasMessageContaining("1 child");
    }

    @Test
    void childOfAWritableLcIsRefused() {
        assertThatThrownBy(() -> engine.createChild(3, 2)).isInstanceOf(ParentNotFrozenException.class);
    }

    @Test
    void existingIdIsRefused() {
        assertThatThrownBy(() -> engine.create(2, PC)).isInstanceOf(LcExistsException.class);
    }

    @Test
    void childSmallerThanItsParentIsRefused() {
        assertThatThrownBy(() -> engine.createChild(3, 1, PC - 1)).isInstanceOf(OutOfRangeException.class);
    }

    @Test
    void negativeSizesAndIdsAreRefused() {
        assertThatThrownBy(() -> engine.create(3, -1)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.create(-3, PC)).isInstanceOf(OutOfRangeException.class);
        assertThatThrownBy(() -> engine.grow(2, PC - 1)).isInstanceOf(OutOfRangeException.class);
    }

    @Test
    void sizesAboveTheMaximumAreRefusedOnCreateAndGrow() {
        for (long size : new long[] {ChunkEngine.MAX_SIZE + 1, 1L << 60, Long.MAX_VALUE}) {
            assertThatThrownBy(() -> engine.create(3, size))
                    .isInstanceOf(OutOfRangeException.class)
                    .hasMessageContaining("64 TiB");
            assertThatThrownBy(() -> engine.createChild(3, 1, size)).isInstanceOf(OutOfRangeException.class);
            assertThatThrownBy(() -> engine.grow(2, size)).isInstanceOf(OutOfRangeException.class);
        }
    }

    @Test
    void aSecondEngineOnTheSameDirectoryIsRefused() {
        assertThatThrownBy(() -> ChunkEngine.open(dir)).isInstanceOf(EngineIoException.class);
    }
}
