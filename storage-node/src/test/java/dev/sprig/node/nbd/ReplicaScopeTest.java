package dev.sprig.node.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.node.access.ReplicaEpoch;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class ReplicaScopeTest {

    static final long PC = ChunkEngine.PC_SIZE;

    @Property
    void aRangeIsHeldExactlyWhenEveryPcItSpansIsInTheTokensColumn(
            @ForAll @IntRange(min = 1, max = 5) int columns,
            @ForAll @IntRange(min = 0, max = 4) int columnSeed,
            @ForAll @LongRange(min = 0, max = 64L << 20) long offset,
            @ForAll @LongRange(min = 1, max = 24L << 20) long length) {
        ReplicaEpoch token = new ReplicaEpoch(7, columnSeed % columns, columns, 1);

        boolean everyPc = true;
        for (long pc = offset / PC; pc <= (offset + length - 1) / PC; pc++) {
            everyPc &= pc % columns == token.column();
        }

        assertThat(ReplicaScope.holds(token, offset, length)).isEqualTo(everyPc);
    }

    @Test
    void theEdgesOfAPcAreItsOwn() {
        ReplicaEpoch column1 = new ReplicaEpoch(7, 1, 3, 1);

        assertThat(ReplicaScope.holds(column1, PC, PC)).isTrue();
        assertThat(ReplicaScope.holds(column1, PC - 1, 2)).isFalse();
        assertThat(ReplicaScope.holds(column1, 2 * PC - 1, 1)).isTrue();
        assertThat(ReplicaScope.holds(column1, 2 * PC - 1, 2)).isFalse();
        assertThat(ReplicaScope.holds(column1, 4 * PC + 10, 100))
                .as("PC 4 is column 1")
                .isTrue();
    }

    @Test
    void blockStatusIsDescribedToTheEndOfThePcWhenOtherColumnsFollow() {
        assertThat(ReplicaScope.describable(new ReplicaEpoch(7, 0, 3, 1), 100, 16 * PC))
                .isEqualTo(PC - 100);
        assertThat(ReplicaScope.describable(new ReplicaEpoch(7, 0, 3, 1), 100, 200))
                .isEqualTo(200);
        assertThat(ReplicaScope.describable(new ReplicaEpoch(7, 0, 1, 1), 100, 16 * PC))
                .as("one column: the whole range")
                .isEqualTo(16 * PC);
    }
}
