package dev.sprig.client;

import org.jspecify.annotations.Nullable;

/**
 * One lc of a lineage, with the image, snapshot or disk on it; {@code externId}, {@code kind} and
 * {@code name} are null for an implicit snapshot (a disk's lc frozen when it was cloned).
 */
public record LineageEntry(
        long lcId,
        boolean frozen,
        long sizeBytes,
        @Nullable String externId,
        @Nullable String kind,
        @Nullable String name) {}
