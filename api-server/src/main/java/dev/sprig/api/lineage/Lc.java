package dev.sprig.api.lineage;

import org.jspecify.annotations.Nullable;

/** One node of the lineage tree, as the database holds it. */
public record Lc(long lcId, @Nullable Long parentLcId, long familyId, long sizeBytes, boolean frozen) {

    public static Lc root(long lcId, long sizeBytes) {
        return new Lc(lcId, null, lcId, sizeBytes, false);
    }

    /** A writable clone of this (frozen) lc: same family, so it stays on the same nodes. */
    public Lc child(long childId, long childSize) {
        return new Lc(childId, lcId, familyId, childSize, false);
    }
}
