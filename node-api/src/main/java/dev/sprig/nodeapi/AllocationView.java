package dev.sprig.nodeapi;

import java.util.List;

/**
 * The PCs of an lc that the lc or its ancestors hold anything in, as runs of consecutive PC
 * indexes in order; every other PC reads as zeros.
 */
public record AllocationView(long pcSizeBytes, List<PcRun> pcRuns) {}
