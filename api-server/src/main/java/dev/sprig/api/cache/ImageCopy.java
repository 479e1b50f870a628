package dev.sprig.api.cache;

import java.time.Instant;

/**
 * A cached copy of an image: the frozen root lc its clones hang under.
 *
 * @param storedBytes image data it holds (segments that are not all zero)
 * @param clones lcs cloned from it that still exist
 * @param lastUsedAt its last clone, or its import
 */
public record ImageCopy(long lcId, long storedBytes, long clones, Instant lastUsedAt) {}
