package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ResolvedPcsTest {

    private static final Path DIR = Path.of("unused");

    /** A frozen image owning segment 0 of each of its PCs, and a frozen clone owning nothing. */
    private static Lc image(long pcs) {
        Lc image = new Lc(1, DIR, null, pcs * Layout.PC_SIZE, true);
        for (long pc = 0; pc < pcs; pc++) {
            image.pcForWrite(pc).setData(0, new int[Layout.BLOCKS_PER_SEGMENT]);
        }
        return image;
    }

    @Test
    void holdsNoMoreEntriesThanItsBoundHoweverManyPcsAreRead() {
        Lc image = image(1_000);
        Lc clone = new Lc(2, DIR, image, image.size, true);
        ResolvedPcs resolved = new ResolvedPcs(64);

        for (long pc = 0; pc < 1_000; pc++) {
            resolved.of(clone, pc);
        }

        assertThat(resolved.size()).isLessThanOrEqualTo(64);
    }

    @Test
    void anEvictedPcResolvesAgainToTheSameOwners() {
        Lc image = image(1_000);
        Lc clone = new Lc(2, DIR, image, image.size, true);
        clone.pcForWrite(7).setData(3, new int[Layout.BLOCKS_PER_SEGMENT]);
        ResolvedPcs resolved = new ResolvedPcs(16);
        ResolvedPc first = resolved.of(clone, 7);

        for (long pc = 100; pc < 1_000; pc++) {
            resolved.of(clone, pc);
        }
        ResolvedPc again = resolved.of(clone, 7);

        assertThat(again.owners()).containsExactly(first.owners());
        assertThat(again.owners()[0]).isSameAs(image);
        assertThat(again.owners()[3]).isSameAs(clone);
        assertThat(again.owners()[1]).isNull();
    }
}
