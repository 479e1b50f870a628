package dev.sprig.engine;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The metadata of one PC of one lc: the owned bitmap (bit s set: segment s is stored in this lc),
 * the zero bitmap (bit s set as well: segment s reads as zeros and stores no bytes) and the block
 * CRCs of each segment that holds data.
 *
 * <p>Concurrency: the bits and CRCs of segment s change only while the segment's stripe lock is
 * held for writing, and are read under that lock (or without it once the lc is frozen, when they no
 * longer change). The bitmaps are shared by 16 segments with different locks, so they are updated
 * under this object's monitor.
 */
final class PcMeta {

    static final byte UNOWNED = 0;
    static final byte DATA = 1;
    static final byte ZERO = 2;

    private volatile short owned;
    private volatile short zero;
    private final int[] @Nullable [] crcs = new int[Layout.SEGMENTS_PER_PC][];

    byte state(int segment) {
        int bit = 1 << segment;
        if ((owned & bit) == 0) {
            return UNOWNED;
        }
        return (zero & bit) != 0 ? ZERO : DATA;
    }

    short owned() {
        return owned;
    }

    short zero() {
        return zero;
    }

    /** The block CRCs of a DATA segment; mutable in place by the holder of the stripe lock. */
    int[] crcs(int segment) {
        int[] c = crcs[segment];
        if (c == null) {
            throw new IllegalStateException("segment " + segment + " holds no data");
        }
        return c;
    }

    synchronized void setData(int segment, int[] blockCrcs) {
        crcs[segment] = blockCrcs;
        owned = (short) (owned | (1 << segment));
        zero = (short) (zero & ~(1 << segment));
    }

    synchronized void setZero(int segment) {
        crcs[segment] = null;
        owned = (short) (owned | (1 << segment));
        zero = (short) (zero | (1 << segment));
    }

    synchronized void setUnowned(int segment) {
        crcs[segment] = null;
        owned = (short) (owned & ~(1 << segment));
        zero = (short) (zero & ~(1 << segment));
    }

    /** Restores a state captured by {@link #state} and {@link #crcs}. */
    void set(int segment, byte state, int @Nullable [] blockCrcs) {
        switch (state) {
            case DATA -> setData(segment, Objects.requireNonNull(blockCrcs));
            case ZERO -> setZero(segment);
            default -> setUnowned(segment);
        }
    }
}
