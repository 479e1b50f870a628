package dev.sprig.node.control;

import dev.sprig.node.engine.LcInfo;
import org.jspecify.annotations.Nullable;

/**
 * What api-server tells a node about one lc: its id, the lc it reads unowned segments from, its size
 * and whether it is frozen.
 */
public record LcDefinition(long lcId, @Nullable Long parentLcId, long sizeBytes, boolean frozen) {

    /** Whether an lc the engine already holds is exactly this definition. */
    boolean matches(LcInfo existing) {
        Long existingParent =
                existing.parentLcId().isPresent() ? existing.parentLcId().getAsLong() : null;
        return java.util.Objects.equals(existingParent, parentLcId)
                && existing.sizeBytes() == sizeBytes
                && existing.frozen() == frozen;
    }
}
