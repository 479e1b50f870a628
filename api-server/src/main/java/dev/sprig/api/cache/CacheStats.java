package dev.sprig.api.cache;

/**
 * The cache as a whole, for {@code GET /v1/cache} and the metrics. Counters are kept in the
 * database, so every api-server instance on it shows the same figures.
 *
 * @param usedBytes data held by cached copies of imported images, and reserved by imports filling one
 * @param copies cached copies (ready to clone from), imported and pinned
 * @param pinnedCopies copies of uploaded images, which are never evicted
 * @param hits disks cloned from a cached copy
 * @param misses disks requested while their image was not cached
 * @param importsInFlight imports running now
 * @param bytesImported image data written by finished imports
 * @param copiesOverCloneLimit copies carrying more clones than {@code sprig.cache.max-clones-per-copy}
 */
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
