package dev.sprig.node.engine;

/** A run of bytes of an lc whose segments share one origin. */
public record Extent(long offset, long length, SegmentOrigin origin) {}
