package dev.sprig.nodeapi;

/** One stored segment a scrub found whose bytes do not match their CRC32C. */
public record DamagedSegment(long lcId, long pcIndex, int segment) {}
