package dev.sprig.engine;

import java.util.OptionalLong;

/**
 * What the engine knows about one lc.
 *
 * @param lcId the lc
 * @param parentLcId the lc it reads unowned segments from, empty for a root (or flattened) lc
 * @param sizeBytes its size
 * @param frozen whether it is read-only (an image or snapshot)
 * @param children how many lcs have it as parent
 */
public record LcInfo(long lcId, OptionalLong parentLcId, long sizeBytes, boolean frozen, int children) {}
