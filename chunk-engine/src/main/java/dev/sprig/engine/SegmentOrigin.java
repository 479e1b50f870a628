package dev.sprig.engine;

/** Where the bytes of a segment of an lc come from: what a client needs to tell written from shared. */
public enum SegmentOrigin {
    /** Stored in the lc itself. */
    WRITTEN,
    /** Zeroed in the lc itself (a trim or write of zeros): no bytes stored. */
    ZEROED,
    /** Not in the lc: read from an ancestor that stores it (a clone still sharing its image). */
    INHERITED,
    /** Not stored anywhere in the chain: reads as zeros. */
    UNWRITTEN
}
