package dev.sprig.client;

/** {@code GET /v1/cache}: the image cache's size and its counters since api-server started. */
public record CacheStats(
        long capacityBytes,
        long usedBytes,
        long copies,
        long pinnedCopies,
        long hits,
        long misses,
        long evictions,
        long imports,
        long importsInFlight,
        long bytesImported,
        int maxClonesPerCopy,
        long copiesOverCloneLimit) {}
