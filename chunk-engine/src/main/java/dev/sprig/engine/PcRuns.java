package dev.sprig.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns sorted, distinct PC indexes (such as {@link ChunkEngine#pcsWithData}) into runs of adjacent
 * PCs, in whatever record the caller speaks: the node API's and api-server's backend alike.
 */
public final class PcRuns {

    /** Makes one run: PCs {@code firstPc} to {@code firstPc + pcCount - 1}. */
    @FunctionalInterface
    public interface RunFactory<R> {
        R run(long firstPc, long pcCount);
    }

    private PcRuns() {}

    public static <R> List<R> of(long[] pcs, RunFactory<R> runs) {
        List<R> result = new ArrayList<>();
        int i = 0;
        while (i < pcs.length) {
            int first = i;
            while (i + 1 < pcs.length && pcs[i + 1] == pcs[i] + 1) {
                i++;
            }
            result.add(runs.run(pcs[first], i - first + 1L));
            i++;
        }
        return result;
    }
}
