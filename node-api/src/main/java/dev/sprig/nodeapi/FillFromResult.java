package dev.sprig.nodeapi;

/**
 * What a fill from another node did: segments filled (data or zeros), segments skipped because this
 * lc held them already (live writes, earlier fills), and the bytes of the segments filled.
 */
public record FillFromResult(long segmentsFilled, long segmentsSkipped, long bytesCopied) {}
