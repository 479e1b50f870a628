package dev.sprig.node.rebuild;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.jspecify.annotations.Nullable;

/**
 * The rebuild source of each lc being rebuilt on this node, set and removed by api-server, and for
 * an lc being caught up (its replica returned after missing writes) its {@link CatchUp} state. Kept
 * in memory only: a node that restarts has none, and api-server, which records which members are
 * rebuilding, sets them again. Between the restart and that, a live write into a segment the lc
 * does not hold would be merged with the node's own, incomplete, parent chain; decision 012 says
 * how api-server keeps such writes away (it fences the member before it trusts it again).
 */
public final class RebuildSources {

    private record Entry(RebuildSource source, @Nullable CatchUp catchUp) {}

    private final ConcurrentMap<Long, Entry> sources = new ConcurrentHashMap<>();

    /**
     * Makes {@code source} the lc's rebuild source, replacing any it had. A catch-up the lc is in
     * goes on: its suspect segments are still suspect, whoever sets the source.
     */
    public void set(long lcId, RebuildSource source) {
        sources.compute(lcId, (id, old) -> new Entry(source, old == null ? null : old.catchUp()));
    }

    /**
     * Makes {@code source} the lc's rebuild source for a catch-up of column {@code column} of
     * {@code columns}: a fresh {@link CatchUp}, pending, replacing any source or catch-up it had.
     */
    public CatchUp setCatchUp(long lcId, RebuildSource source, int column, int columns) {
        CatchUp catchUp = new CatchUp(column, columns);
        sources.put(lcId, new Entry(source, catchUp));
        return catchUp;
    }

    /** The lc's rebuild source, or null while it is not being rebuilt. */
    public @Nullable RebuildSource of(long lcId) {
        Entry entry = sources.get(lcId);
        return entry == null ? null : entry.source();
    }

    /** The lc's catch-up state, or null while it is not being caught up. */
    public @Nullable CatchUp catchUpOf(long lcId) {
        Entry entry = sources.get(lcId);
        return entry == null ? null : entry.catchUp();
    }

    /**
     * Forgets the lc's rebuild source if it is in a catch-up of column {@code column}, or is a plain
     * one (an lc defined while the catch-up ran gets a plain source, and nothing else would remove
     * it: every first partial write of the in-sync member would then still read from the old source,
     * and fail once that node is gone); false, changing nothing, otherwise. The end of one catch-up
     * must not remove the next one's, which may have been set (for another column) before the first
     * one's clean-up got here.
     */
    public boolean removeCatchUp(long lcId, int column) {
        boolean[] removed = {false};
        sources.computeIfPresent(lcId, (id, entry) -> {
            CatchUp catchUp = entry.catchUp();
            if (catchUp == null || catchUp.column() == column) {
                removed[0] = true;
                return null;
            }
            return entry;
        });
        return removed[0];
    }

    /** Forgets the lc's rebuild source (and catch-up); false if it had none. */
    public boolean remove(long lcId) {
        return sources.remove(lcId) != null;
    }
}
