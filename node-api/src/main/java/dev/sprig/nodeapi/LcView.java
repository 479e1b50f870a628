package dev.sprig.nodeapi;

import org.jspecify.annotations.Nullable;

public record LcView(
        long lcId,
        @Nullable Long parentLcId,
        long sizeBytes,
        boolean frozen,
        int children,
        long segmentsOwned,
        long zeroSegments,
        long pcsAllocated,
        long bytesStored) {}
