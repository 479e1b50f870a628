package dev.sprig.api.backend;

import dev.sprig.api.backend.StorageBackend.LcSpec;
import java.util.List;

/**
 * The node calls a recovery makes (decision 012): defining a family's lcs on a new member, listing
 * what an lc holds itself in one stripe column, and filling a PC of it node to node from an in-sync
 * member. Only the nodes backend has it. Each call is idempotent: a fill skips the segments the
 * target holds already, so a recovery resumed after a crash copies only what is still missing.
 *
 * @see dev.sprig.api.backend.StorageBackend
 */
public interface ReplicaCopies {

    /**
     * Defines on the node those of {@code lcs} (parents before children) it does not hold, and
     * freezes those frozen in {@code lcs} that it holds writable.
     */
    void define(String nodeId, List<LcSpec> lcs);

    /**
     * The segments the lc holds itself on the node in the PCs of column {@code column} (of
     * {@code columns}), in PC and segment order.
     */
    List<HeldSegment> heldSegments(String nodeId, long lcId, long sizeBytes, int column, int columns);

    /**
     * Has {@code targetNodeId} fill PC {@code pc} of the lc from {@code sourceNodeId}'s copy, at
     * most {@code bytesPerSecond}; the bytes it copied (zero when it held everything already).
     */
    long fill(String targetNodeId, String sourceNodeId, long lcId, long pc, long bytesPerSecond);

    /**
     * Tells {@code targetNodeId} that its lc is being rebuilt from {@code sourceNodeId}'s, so that
     * the first live write into a segment it does not hold yet fills that segment from the source
     * first (decision 012). The nodes do not have this call yet ({@code PUT
     * /v1/lcs/{id}/rebuildSource}, another change of issue 20): until they do, the implementation
     * does nothing, and a partial live write into a segment not yet filled is merged with the
     * target's own (unfilled) chain.
     */
    void announceRebuildSource(String targetNodeId, String sourceNodeId, long lcId);

    /**
     * One segment an lc holds itself: as data with its 64 block CRCs, or as explicit zeros.
     *
     * @param crcs empty for a zero segment
     */
    record HeldSegment(long pc, int segment, boolean zero, List<Integer> crcs) {

        public HeldSegment {
            crcs = List.copyOf(crcs);
        }
    }
}
