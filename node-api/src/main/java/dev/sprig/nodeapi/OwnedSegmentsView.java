package dev.sprig.nodeapi;

import java.util.List;

/**
 * What an lc itself holds (not through its parent) in PCs {@code [firstPc, firstPc + pcCount)}:
 * one entry per PC where it holds at least one segment, in PC order. A replica being rebuilt or
 * caught up compares this with its own to find the segments it lacks.
 */
public record OwnedSegmentsView(long lcId, long firstPc, long pcCount, List<OwnedPcView> pcs) {

    /** The segments of one PC the lc holds; the others it reads through its parent. */
    public record OwnedPcView(long pc, List<OwnedSegmentView> segments) {}

    /**
     * One held segment: {@code state} is {@code DATA} (with its 64 block CRC32Cs, as signed 32-bit
     * integers, block 0 first) or {@code ZERO} (no bytes stored, {@code crcs} empty).
     */
    public record OwnedSegmentView(int segment, String state, List<Integer> crcs) {}
}
