package dev.sprig.engine;

/** What an lc itself holds for one of its segments, not looking through its parent. */
public enum SegmentState {
    /** Not held: reads go to the parent chain (or zeros). */
    UNOWNED,
    /** Held as zeros: no bytes stored. */
    ZERO,
    /** Held as stored bytes with 64 block CRC32Cs. */
    DATA;

    static SegmentState of(byte state) {
        return switch (state) {
            case PcMeta.DATA -> DATA;
            case PcMeta.ZERO -> ZERO;
            default -> UNOWNED;
        };
    }
}
