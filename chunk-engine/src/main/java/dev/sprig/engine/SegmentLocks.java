package dev.sprig.engine;

import java.util.concurrent.locks.StampedLock;

/**
 * Striped locks over (lc, PC, segment) of writable lcs. A write holds its segment's lock for writing
 * from reading the old bytes to updating the CRCs, so a read of the same segment never accepts data
 * and CRCs that disagree (which would look like corruption); reads validate an optimistic stamp and
 * fall back to the read lock. The locks are not reentrant and no code path holds two stripes at
 * once, so stripes cannot deadlock. Frozen lcs need no lock: they never change.
 */
final class SegmentLocks {

    private static final int STRIPES = 4096;
    private final StampedLock[] stripes = new StampedLock[STRIPES];

    SegmentLocks() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new StampedLock();
        }
    }

    StampedLock of(long lcId, long pcIndex, int segment) {
        return stripes[stripe(lcId, pcIndex, segment, STRIPES)];
    }

    /** Which of {@code count} (a power of two) stripes the segment falls in, spread by a mix of its address. */
    static int stripe(long lcId, long pcIndex, int segment, int count) {
        long h = (lcId * 0x9E3779B97F4A7C15L) ^ Lc.segmentKey(pcIndex, segment);
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 32;
        return (int) (h & (count - 1));
    }
}
