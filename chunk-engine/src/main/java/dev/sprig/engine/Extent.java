package dev.sprig.engine;

/**
 * A run of bytes of an lc whose segments share one origin and one depth: the lc that supplies
 * them, counted from the lc asked about (1 itself, 2 its parent, and so on), 0 when none does
 * and they read as zeros. A segment zeroed in the lc itself has depth 1; one zeroed in an
 * ancestor is supplied by no lc, like one never written.
 */
public record Extent(long offset, long length, SegmentOrigin origin, int depth) {}
