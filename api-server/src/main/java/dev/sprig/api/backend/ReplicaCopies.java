package dev.sprig.api.backend;

import dev.sprig.api.backend.StorageBackend.LcSpec;
import java.util.List;
import java.util.Set;

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
     * freezes those frozen in {@code lcs} that it holds writable; the ids of those it defined.
     */
    List<Long> define(String nodeId, List<LcSpec> lcs);

    /**
     * The segments the lc holds itself on the node in the PCs of column {@code column} (of
     * {@code columns}), in PC and segment order.
     */
    List<HeldSegment> heldSegments(String nodeId, long lcId, long sizeBytes, int column, int columns);

    /**
     * As {@link #heldSegments}, without the block CRCs (each {@link HeldSegment#crcs()} empty): which
     * segments are held and which are zero, all that a recovery's plan needs, in a fraction of the
     * listing.
     */
    List<HeldSegment> heldSegmentStates(String nodeId, long lcId, long sizeBytes, int column, int columns);

    /**
     * As {@link #heldSegments}, with one value in each data segment's {@link HeldSegment#crcs()}: a
     * digest of its block CRCs. Two such listings tell which segments two copies hold alike, in a
     * 64th of the bytes; they compare with each other only.
     */
    List<HeldSegment> heldSegmentDigests(String nodeId, long lcId, long sizeBytes, int column, int columns);

    /**
     * Has {@code targetNodeId} fill PC {@code pc} of the lc from {@code sourceNodeId}'s copy, at
     * most {@code bytesPerSecond}; the bytes it copied (zero when it held everything already).
     */
    default long fill(String targetNodeId, String sourceNodeId, long lcId, long pc, long bytesPerSecond) {
        return fill(targetNodeId, sourceNodeId, lcId, pc, 1, 1, bytesPerSecond);
    }

    /**
     * {@link #fill(String, String, long, long, long)} of the {@code pcCount} PCs {@code firstPc},
     * {@code firstPc + pcStride}, … in one node call (a column's PCs are the column count apart).
     */
    long fill(
            String targetNodeId,
            String sourceNodeId,
            long lcId,
            long firstPc,
            int pcCount,
            int pcStride,
            long bytesPerSecond);

    /**
     * Makes the lc on {@code sourceNodeId} the rebuild source of the same lc on {@code targetNodeId}
     * (decision 012): the first live write into part of a segment the target does not hold yet fills
     * that segment from the source's resolved bytes first. The node keeps it in memory only.
     */
    void setRebuildSource(String targetNodeId, String sourceNodeId, long lcId);

    /**
     * As {@link #setRebuildSource}, from {@code sourceNodeIds} tried in order (one that does not
     * deliver is followed by the next, so that a source that dies fails no live write), for the PCs
     * of {@code columns} (of {@code columnCount}) only: the columns the target is rebuilt in.
     */
    void setRebuildSources(
            String targetNodeId, List<String> sourceNodeIds, long lcId, Set<Integer> columns, int columnCount);

    /**
     * As {@link #setRebuildSource}, for a catch-up of column {@code column} (of {@code columns}) of a
     * member that returned after missing writes (decision 012): the target treats every segment it
     * holds in that column as suspect (replaced whole from the source before a live write merges
     * with it) until {@link #markSuspects} names those that differ. Starts the target's catch-up
     * state afresh.
     */
    void setCatchUpSource(String targetNodeId, String sourceNodeId, long lcId, int column, int columns);

    /**
     * The lc's segments ({@code pc * 16 + segment}) that differ from the source on the node being
     * caught up; every other segment is trusted from now on. The number made suspect (a segment a
     * live write made right meanwhile is not).
     */
    long markSuspects(String nodeId, long lcId, List<Long> segments);

    /**
     * Has {@code targetNodeId} replace its lc's suspect segments (about {@code suspects} of them)
     * from its rebuild source {@code sourceNodeId}, at most {@code bytesPerSecond}; the bytes copied.
     */
    long fillSuspects(String targetNodeId, String sourceNodeId, long lcId, long suspects, long bytesPerSecond);

    /** What the lc on the node has of a rebuild: nothing (never set, or lost in a restart), a source, a catch-up. */
    RebuildState rebuildState(String nodeId, long lcId);

    /** See {@link #rebuildState}. */
    enum RebuildState {
        NONE,
        PLAIN,
        CATCH_UP
    }

    /**
     * Whether the lc on the node still has its rebuild source: a node that restarted lost them, and
     * took live writes without them meanwhile.
     */
    boolean hasRebuildSource(String nodeId, long lcId);

    /**
     * Deletes the lc on the node (a drained node's copy, once the node is a member of none of the
     * family's sets); deleting one it does not hold is fine.
     */
    void delete(String nodeId, long lcId);

    /**
     * The end of a catch-up of column {@code column}: the node's lc no longer has its rebuild source
     * if that is still this catch-up's (a later catch-up of another column keeps its own).
     */
    void removeCatchUpSource(String nodeId, long lcId, int column);

    /** The node's lc no longer has a rebuild source (it is in sync); having none already is fine. */
    void removeRebuildSource(String nodeId, long lcId);

    /** What the lc reads as on the node over {@code [offset, offset + length)}, through its parents. */
    byte[] read(String nodeId, long lcId, long offset, int length);

    /**
     * Has the node check every segment it stores against its own block CRCs (a node scrub), waiting
     * up to {@code within} for it to finish; the segments whose bytes do not match.
     *
     * @throws IllegalStateException the scrub failed or did not finish in time
     */
    List<StoredSegment> damagedSegments(String nodeId, java.time.Duration within);

    /**
     * Has {@code targetNodeId} replace segments of its lc with {@code sourceNodeId}'s own bytes (a
     * replica scrub's repair), each only if the target still holds what it held and the source what
     * it wanted when they were compared (a live write since wins); what it did.
     */
    Repaired repair(String targetNodeId, String sourceNodeId, long lcId, List<SegmentRepair> segments);

    /** One stored segment of an lc: PC and segment in it. */
    record StoredSegment(long lcId, long pc, int segment) {}

    /**
     * One segment to repair: what the target held when compared (null: nothing, it reads through its
     * parent) and what the good copy holds.
     */
    record SegmentRepair(
            long pc,
            int segment,
            @org.jspecify.annotations.Nullable HeldSegment held,
            HeldSegment wanted) {}

    /** Segments replaced, segments skipped (changed since the comparison), bytes fetched. */
    record Repaired(long repaired, long skipped, long bytes) {}

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
