package dev.sprig.api.lineage;

import org.jspecify.annotations.Nullable;

/**
 * One lc of a chain and the resource that points at it, if any (an implicit snapshot's lc has
 * none).
 */
public record LineageStep(
        long lcId,
        long sizeBytes,
        boolean frozen,
        @Nullable String externId,
        @Nullable ResourceKind kind,
        @Nullable String name) {}
