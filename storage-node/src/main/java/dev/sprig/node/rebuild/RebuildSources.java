package dev.sprig.node.rebuild;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.jspecify.annotations.Nullable;

/**
 * The rebuild source of each lc being rebuilt on this node, set and removed by api-server. Kept in
 * memory only: a node that restarts has none, and api-server, which records which members are
 * rebuilding, sets them again. Between the restart and that, a live write into a segment the lc
 * does not hold would be merged with the node's own, incomplete, parent chain; decision 012 says
 * how api-server keeps such writes away (it fences the member before it trusts it again).
 */
public final class RebuildSources {

    private final ConcurrentMap<Long, RebuildSource> sources = new ConcurrentHashMap<>();

    /** Makes {@code source} the lc's rebuild source, replacing any it had. */
    public void set(long lcId, RebuildSource source) {
        sources.put(lcId, source);
    }

    /** The lc's rebuild source, or null while it is not being rebuilt. */
    public @Nullable RebuildSource of(long lcId) {
        return sources.get(lcId);
    }

    /** Forgets the lc's rebuild source; false if it had none. */
    public boolean remove(long lcId) {
        return sources.remove(lcId) != null;
    }
}
