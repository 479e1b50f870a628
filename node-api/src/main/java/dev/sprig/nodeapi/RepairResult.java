package dev.sprig.nodeapi;

/**
 * What a repair did: segments replaced with the good copy's bytes (or zeros), segments skipped
 * because this lc or the source changed them since the comparison (a live write: compare again
 * later), and the bytes fetched for the segments replaced.
 */
public record RepairResult(long segmentsRepaired, long segmentsSkipped, long bytesCopied) {}
