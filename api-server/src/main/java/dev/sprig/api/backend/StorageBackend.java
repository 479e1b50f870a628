package dev.sprig.api.backend;

import java.nio.ByteBuffer;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What api-server needs from storage, kept narrow so that the embedded engine and remote nodes can
 * both provide it. Lc ids are allocated by api-server (from the database); the backend stores what
 * it is told.
 */
public interface StorageBackend {

    /**
     * Defines lcs all at once, parents first (a parent may be earlier in the list); durable on
     * return; a batch that cannot be applied applies nothing.
     */
    void define(List<LcSpec> lcs);

    void freeze(long lcId);

    /** Removes an lc that has no children; removing one that is gone is not an error. */
    void delete(long lcId);

    void write(long lcId, long offset, ByteBuffer bytes);

    void flush(long lcId);

    /**
     * @param parentLcId the frozen lc it clones, null for a root lc
     * @param frozen freeze it right after creation
     */
    record LcSpec(long lcId, @Nullable Long parentLcId, long sizeBytes, boolean frozen) {}
}
