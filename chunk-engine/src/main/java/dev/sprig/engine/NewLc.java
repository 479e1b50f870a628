package dev.sprig.engine;

import org.jspecify.annotations.Nullable;

/**
 * One lc to define in {@link ChunkEngine#createAll}.
 *
 * @param lcId the new lc's id; must not exist yet
 * @param parentLcId the frozen lc it clones (in the engine, or earlier in the same batch), or null
 *     for a root lc that reads as zeros
 * @param sizeBytes its size, positive, and for a child at least the parent's size (the part past
 *     the parent's end reads as zeros)
 * @param frozen whether to freeze it right after creation, so that it can be a parent (an image or
 *     snapshot)
 */
public record NewLc(long lcId, @Nullable Long parentLcId, long sizeBytes, boolean frozen) {

    /** A writable root lc. */
    public static NewLc root(long lcId, long sizeBytes) {
        return new NewLc(lcId, null, sizeBytes, false);
    }

    /** A writable clone of a frozen lc. */
    public static NewLc child(long lcId, long parentLcId, long sizeBytes) {
        return new NewLc(lcId, parentLcId, sizeBytes, false);
    }
}
