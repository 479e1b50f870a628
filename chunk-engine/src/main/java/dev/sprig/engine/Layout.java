package dev.sprig.engine;

/**
 * The geometry of an lc's address space: 4 MiB PCs of sixteen 256 KiB segments; each stored
 * segment is checksummed in 4 KiB blocks.
 */
final class Layout {

    static final int SEGMENT_SHIFT = 18;
    static final int SEGMENT_SIZE = 1 << SEGMENT_SHIFT;
    static final int PC_SHIFT = 22;
    static final long PC_SIZE = 1L << PC_SHIFT;
    /** log2 of the segments in a PC: a segment number is a PC index followed by this many bits. */
    static final int SEGMENTS_PER_PC_SHIFT = PC_SHIFT - SEGMENT_SHIFT;

    static final int SEGMENTS_PER_PC = 1 << SEGMENTS_PER_PC_SHIFT;
    static final int BLOCK_SHIFT = 12;
    static final int BLOCK_SIZE = 1 << BLOCK_SHIFT;
    static final int BLOCKS_PER_SEGMENT = SEGMENT_SIZE / BLOCK_SIZE;
    /** The largest lc: 64 TiB. */
    static final long MAX_SIZE = 1L << 46;

    private Layout() {}

    /** Byte offset of segment {@code segment} of PC {@code pcIndex} in the lc's data file. */
    static long segmentOffset(long pcIndex, int segment) {
        return (pcIndex << PC_SHIFT) + ((long) segment << SEGMENT_SHIFT);
    }

    /** The number, counted over the whole lc, of segment {@code segment} of PC {@code pcIndex}. */
    static long segmentNumber(long pcIndex, int segment) {
        return (pcIndex << SEGMENTS_PER_PC_SHIFT) | segment;
    }

    /** The PC holding the segment numbered {@code segmentNumber}. */
    static long pcOf(long segmentNumber) {
        return segmentNumber >>> SEGMENTS_PER_PC_SHIFT;
    }

    /** The index in its PC of the segment numbered {@code segmentNumber}. */
    static int segmentOf(long segmentNumber) {
        return (int) (segmentNumber & (SEGMENTS_PER_PC - 1));
    }

    /** Number of PCs needed to hold {@code sizeBytes}. */
    static long pcCount(long sizeBytes) {
        return (sizeBytes + PC_SIZE - 1) >>> PC_SHIFT;
    }
}
