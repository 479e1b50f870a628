package dev.sprig.engine;

import java.util.List;

/**
 * The result of {@link ChunkEngine#scrub()}.
 *
 * @param segmentsChecked stored segments whose every block was read and checked
 * @param damaged the segments with at least one mismatching block, sorted by (lc, pc, segment)
 */
public record ScrubReport(long segmentsChecked, List<DamagedSegment> damaged) {

    public ScrubReport {
        damaged = List.copyOf(damaged);
    }

    public boolean clean() {
        return damaged.isEmpty();
    }
}
